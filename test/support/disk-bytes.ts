import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under a directory, concatenated: what someone holding the disk would read. */
export function diskBytes(dir: string): Buffer {
  const chunks: Buffer[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile()) chunks.push(readFileSync(path));
    }
  };
  walk(dir);
  return Buffer.concat(chunks);
}
