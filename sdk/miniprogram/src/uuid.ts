/**
 * A random v4 UUID. Mini-program runtimes have no synchronous crypto API; Math.random (a seeded
 * xorshift in their engines) is enough for ids that only need to be unique, not secret.
 */
export function uuid(): string {
  let hex = '';
  for (let i = 0; i < 32; i += 1) {
    const digit =
      i === 12 ? 4 : i === 16 ? 8 + Math.floor(Math.random() * 4) : Math.floor(Math.random() * 16);
    hex += digit.toString(16);
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
