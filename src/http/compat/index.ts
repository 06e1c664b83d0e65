import type { FastifyInstance } from 'fastify';
import type { Services } from '../../app.ts';
import { compatEnabled } from '../../config/config.ts';
import { isaRoutes } from './isa.ts';
import { isaPoolRoutes } from './isa-pools.ts';
import { isaTeamRoutes } from './isa-teams.ts';
import { pagiRoutes } from './pagi.ts';
import { somaRoutes } from './soma.ts';
import { zaharaRoutes } from './zahara.ts';
import { zoraRoutes } from './zora.ts';

/**
 * The earlier systems' HTTP contracts, one file per family, each a thin translation onto the same
 * services the /v1 routes call. Each family is switched by `compat.<family>` (see config).
 */
export async function registerCompat(app: FastifyInstance, services: Services): Promise<void> {
  if (compatEnabled(services.config, 'isa')) {
    await app.register(isaRoutes(services));
    await app.register(isaTeamRoutes(services));
    await app.register(isaPoolRoutes(services));
  }
  if (compatEnabled(services.config, 'zahara')) await app.register(zaharaRoutes(services));
  if (compatEnabled(services.config, 'zora')) await app.register(zoraRoutes(services));
  if (compatEnabled(services.config, 'soma')) await app.register(somaRoutes(services));
  if (compatEnabled(services.config, 'pagi')) await app.register(pagiRoutes(services));
}
