/**
 * The glibc setting the `pulseloop` command starts with (its shebang line, bin/pulseloop.js): a fixed
 * trim threshold gives the memory a server freed back to the system, ~65 MiB less at idle.
 */
export const SERVER_TRIM_TUNABLE = 'glibc.malloc.trim_threshold=131072';

/**
 * The environment of the process that builds the demo world: the command's trim threshold taken out
 * again, a user's own tunables kept. Setting a trim threshold also fixes glibc's mmap threshold at
 * 128 KiB, so every buffer of that size or more the generator frees goes back to the system and is
 * faulted in again when the next is taken; building the world took ~2 s of CPU more (0.92× the events
 * a second, three alternating pairs, AMD host). The builder exits when done, so its idle memory does
 * not matter.
 */
export function generatorEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tunables = env.GLIBC_TUNABLES;
  if (tunables === undefined || !tunables.endsWith(SERVER_TRIM_TUNABLE)) return env;
  const own = tunables.slice(0, -SERVER_TRIM_TUNABLE.length).replace(/:$/, '');
  const out = { ...env };
  if (own === '') delete out.GLIBC_TUNABLES;
  else out.GLIBC_TUNABLES = own;
  return out;
}
