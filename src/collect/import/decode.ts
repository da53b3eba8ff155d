import { StringDecoder } from 'node:string_decoder';
import iconv from 'iconv-lite';

/**
 * Text encodings of exports. Chinese back-ends write UTF-8 (often with a BOM, which Excel needs) or
 * GBK/GB18030 (what Excel on a Chinese Windows saves as "CSV"). The first chunk decides: a BOM names
 * the encoding; otherwise valid UTF-8 is UTF-8 and anything else is read as GB18030, a superset of GBK.
 */
export type TextEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'gb18030';

/** Incremental decoder: bytes in, text out, characters split across chunks kept whole. */
export interface TextDecoderStream {
  write(chunk: Buffer): string;
  end(): string;
}

/** Whether `bytes` is valid UTF-8, allowing a character cut off at the end of the chunk. */
function isValidUtf8Prefix(bytes: Buffer): boolean {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const length = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0;
    if (length === 0 || b > 0xf4) return false;
    for (let k = 1; k < length; k++) {
      if (i + k >= n) return true; // cut off by the chunk boundary
      if ((bytes[i + k]! & 0xc0) !== 0x80) return false;
    }
    i += length;
  }
  return true;
}

/** The encoding of a file from its first bytes. */
export function detectEncoding(firstChunk: Buffer): TextEncoding {
  if (firstChunk[0] === 0xef && firstChunk[1] === 0xbb && firstChunk[2] === 0xbf) return 'utf-8-bom';
  if (firstChunk[0] === 0xff && firstChunk[1] === 0xfe) return 'utf-16le';
  if (firstChunk[0] === 0xfe && firstChunk[1] === 0xff) return 'utf-16be';
  return isValidUtf8Prefix(firstChunk) ? 'utf-8' : 'gb18030';
}

/** A decoder for the encoding; the BOM, if any, is dropped. */
export function textDecoder(encoding: TextEncoding): TextDecoderStream {
  if (encoding === 'utf-8' || encoding === 'utf-8-bom') {
    const decoder = new StringDecoder('utf8');
    let first = encoding === 'utf-8-bom';
    return {
      write(chunk) {
        const text = decoder.write(chunk);
        if (first && text.length > 0) {
          first = false;
          return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
        }
        return text;
      },
      end: () => decoder.end(),
    };
  }
  // iconv-lite strips the BOM of UTF-16 by default.
  const decoder = iconv.getDecoder(encoding);
  return { write: (chunk) => decoder.write(chunk), end: () => decoder.end() ?? '' };
}
