import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Hardening pieces the governance plugin installs: security headers on every response, a per-IP
 * rate limiter, and the pino redaction list that keeps secrets out of logs.
 */

/**
 * Content Security Policy for the dashboard served at `/`: scripts, styles, fonts and API calls
 * from the same origin only. antd (CSS-in-JS) injects <style> elements, hence 'unsafe-inline' for
 * styles only; ECharts draws on canvas and exports as data:/blob: images.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'content-security-policy': DASHBOARD_CSP,
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/** The onSend hook: adds the security headers a route has not set itself, and HSTS over HTTPS. */
export async function securityHeadersHook(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    if (!reply.hasHeader(name)) reply.header(name, value);
  }
  if (request.protocol === 'https' && !reply.hasHeader('strict-transport-security')) {
    reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
  }
  return payload;
}

export interface IpRateLimiter {
  /** 0 when the request may go ahead, else the whole seconds to wait. */
  take(ip: string, now?: number): number;
}

/**
 * A token bucket per client IP: `perMinute` requests a minute on average, bursts up to `burst`.
 * Buckets of idle clients are dropped so a scan from many addresses cannot grow memory unbounded.
 */
export function createIpRateLimiter(options: {
  perMinute: number;
  burst?: number;
  maxClients?: number;
}): IpRateLimiter {
  const ratePerMs = options.perMinute / 60_000;
  const capacity = Math.max(1, options.burst ?? options.perMinute);
  const maxClients = options.maxClients ?? 100_000;
  const buckets = new Map<string, { tokens: number; updatedAt: number }>();
  return {
    take(ip, now = Date.now()) {
      let bucket = buckets.get(ip);
      if (!bucket) {
        if (buckets.size >= maxClients) {
          // Full buckets hold no information: forget them first.
          for (const [key, b] of buckets) {
            if (b.tokens + (now - b.updatedAt) * ratePerMs >= capacity) buckets.delete(key);
          }
          if (buckets.size >= maxClients) buckets.clear();
        }
        bucket = { tokens: capacity, updatedAt: now };
        buckets.set(ip, bucket);
      }
      bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updatedAt) * ratePerMs);
      bucket.updatedAt = now;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
    },
  };
}

/**
 * Paths pino must censor: credentials in headers, cookies being set, and secrets in logged bodies
 * or objects (passwords, tokens, write keys, PII keys), one and two levels deep.
 */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
  'password',
  'token',
  'writeKey',
  'write_key',
  'secret',
  'apiKey',
  '*.password',
  '*.newPassword',
  '*.token',
  '*.csrfToken',
  '*.writeKey',
  '*.write_key',
  '*.secret',
  '*.apiKey',
  '*.accessToken',
  '*.refreshToken',
  '*.authorization',
  '*.cookie',
  '*.key',
  '*.*.password',
  '*.*.token',
  '*.*.writeKey',
  '*.*.secret',
];

/** Options for `pino({ redact })`. */
export const LOG_REDACTION = { paths: LOG_REDACT_PATHS, censor: '[redacted]' };
