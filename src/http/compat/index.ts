import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { type CompatFamily, compatEnabled, compatFamilies, runOwner } from '../../config/compat-config.ts';
import { named } from '../plugins/named.ts';
import type { Services } from '../services.ts';
import { isaRoutes } from './isa.ts';
import { isaPoolRoutes } from './isa-pools.ts';
import { isaTeamRoutes } from './isa-teams.ts';
import { pagiRoutes } from './pagi.ts';
import { pagiBffRoutes } from './pagi-bff.ts';
import { somaRoutes } from './soma.ts';
import { zaharaRoutes } from './zahara.ts';
import { zoraRoutes } from './zora.ts';

type CompatRoutes = (services: Services) => FastifyPluginAsync;

/**
 * The earlier systems' HTTP contracts, each family's route files by its name in `compatFamilies`
 * (config/compat-config.ts, where its switch comes from): thin translations onto the same services
 * the /v1 routes call. Adding a family: its file(s) here, its name there, its entry below.
 */
const families = {
  isa: [isaRoutes, isaTeamRoutes, isaPoolRoutes],
  zahara: [zaharaRoutes],
  zora: [zoraRoutes],
  soma: [somaRoutes],
  pagi: [pagiRoutes, pagiBffRoutes],
} satisfies Record<CompatFamily, CompatRoutes[]>;

/** Registers the routes of every family switched on (`compat.<family>`). */
export async function registerCompat(app: FastifyInstance, services: Services): Promise<void> {
  // A path two families define goes to the one the config names; a bad choice stops the start here.
  runOwner(services.config);
  for (const family of compatFamilies) {
    if (!compatEnabled(services.config, family)) continue;
    for (const routes of families[family]) await app.register(named(routes.name, routes(services)));
  }
}
