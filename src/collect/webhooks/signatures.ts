import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signature checks over the raw body bytes, compared in constant time so that the time a refusal
 * takes says nothing about how much of a forged signature was right.
 */

/** Constant-time equality of two byte strings (false when the lengths differ). */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Shopify: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body with the app's secret. */
export function verifyShopifyHmac(raw: Buffer, secret: string, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  return sameBytes(expected, Buffer.from(signature.trim(), 'base64'));
}

/**
 * Douyin shop (抖店) message push: `event-sign` is the hex MD5 of app_key + body + app_secret; when the
 * push says `sign-method: hmac-sha256`, the hex HMAC-SHA256 (key app_secret) of that same string.
 */
export function verifyDoudianSign(
  raw: Buffer,
  appKey: string,
  appSecret: string,
  signature: string | undefined,
  method: string | undefined,
): boolean {
  if (!signature || !/^[0-9a-fA-F]+$/.test(signature)) return false;
  const text = Buffer.concat([Buffer.from(appKey, 'utf8'), raw, Buffer.from(appSecret, 'utf8')]);
  const expected =
    method?.toLowerCase() === 'hmac-sha256'
      ? createHmac('sha256', appSecret).update(text).digest()
      : createHash('md5').update(text).digest();
  return sameBytes(expected, Buffer.from(signature, 'hex'));
}

/** Generic: `X-Pulseloop-Signature` is the hex HMAC-SHA256 of the raw body, optionally as `sha256=<hex>`. */
export function verifyHexHmac(raw: Buffer, secret: string, signature: string | undefined): boolean {
  const hex = signature?.trim().replace(/^sha256=/i, '');
  if (!hex || !/^[0-9a-fA-F]+$/.test(hex)) return false;
  return sameBytes(createHmac('sha256', secret).update(raw).digest(), Buffer.from(hex, 'hex'));
}
