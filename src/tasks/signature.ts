import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Callback signatures, in the scheme Stripe made familiar: `Agentry-Signature: t=<unix seconds>,v1=<hex>`
 * where v1 is HMAC-SHA256 over `<t>.<raw body>` with the tenant's callback secret. The timestamp is
 * signed so a receiver can refuse replays older than its tolerance.
 */
export const SIGNATURE_HEADER = 'agentry-signature';

export function sign(secret: string, body: string, unixSeconds = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** For receivers (and tests): true when `header` signs `body` with `secret` within `toleranceSeconds`. */
export function verify(
  secret: string,
  body: string,
  header: string,
  toleranceSeconds = 300,
  now = Math.floor(Date.now() / 1000),
): boolean {
  const parts = Object.fromEntries(
    header.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()];
    }),
  );
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(now - t) > toleranceSeconds || !parts.v1) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const given = Buffer.from(String(parts.v1));
  return expected.length === given.length && timingSafeEqual(expected, given);
}
