import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Authenticator } from '../../auth/authenticator.ts';
import { canScrape } from '../../auth/principal.ts';
import { AppError } from '../../errors.ts';
import { credentialHeader } from './auth.ts';

/**
 * Who may read /metrics: a scraper with the metrics token (`AGENTRY_METRICS_TOKEN`: it opens this
 * route and no other, and needs no store look-up, so a scrape still answers while the store is
 * down), a `metrics`-scope key of the default tenant (it opens this route and no other), or a root
 * admin (default tenant admin key, internal secret).
 */
export async function authorizeScrape(
  request: FastifyRequest,
  token: string | undefined,
  authenticator: Authenticator,
  onFailure: (reason: 'missing' | 'invalid' | 'scope') => void,
): Promise<void> {
  const header = request.headers.authorization;
  if (token && typeof header === 'string' && header.startsWith('Bearer ') && same(header.slice(7), token)) {
    return;
  }
  const principal = await authenticator
    .authenticate({
      header: credentialHeader(request),
    })
    .catch((err: unknown) => {
      onFailure('invalid');
      throw err;
    });
  if (!principal) {
    onFailure('missing');
    throw new AppError('unauthorized', 'credentials required: the metrics token or a root admin key');
  }
  if (!canScrape(principal)) {
    onFailure('scope');
    throw new AppError(
      'forbidden',
      'metrics are for operators: the metrics token, a metrics-scope key or an admin key of the default tenant',
    );
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
