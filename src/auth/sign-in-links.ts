import { randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * One-time sign-in codes for the console, like a notebook server's token link: `agentry serve`
 * prints a link carrying one, and the console trades it once for an API key of its own. Codes
 * live in this process only (a restart prints a new link) and expire, so a link found in a
 * terminal scroll-back later opens nothing.
 */
export class SignInLinks {
  private readonly codes = new Map<string, number>();

  constructor(private readonly ttlMs = 24 * 3600_000) {}

  /** A new code, valid once until it expires. */
  issue(now = Date.now()): string {
    return this.issueWithExpiry(now).code;
  }

  /** A new code and when it expires (ms since the epoch). */
  issueWithExpiry(now = Date.now()): { code: string; expiresAt: number } {
    for (const [known, expires] of this.codes) if (expires <= now) this.codes.delete(known);
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, now + this.ttlMs);
    return { code, expiresAt: now + this.ttlMs };
  }

  /** True once for a live code; the code is gone afterwards, whatever the answer. */
  redeem(code: string, now = Date.now()): boolean {
    for (const [known, expires] of this.codes) {
      if (known.length === code.length && timingSafeEqual(Buffer.from(known), Buffer.from(code))) {
        this.codes.delete(known);
        return expires > now;
      }
    }
    return false;
  }
}
