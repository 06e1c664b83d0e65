import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, LogController } from 'fastify';
import { jsonSchemaTransform, validatorCompiler } from 'fastify-type-provider-zod';
import { SignInLinks } from '../auth/sign-in-links.ts';
import type { Logger } from '../observability/logger.ts';
import { registerCompat } from './compat/index.ts';
import { registerConsole } from './console.ts';
import { registerDocsPage } from './docs-page.ts';
import { finishDocument } from './openapi-document.ts';
import { registerAdmission } from './plugins/admission.ts';
import { registerAuth } from './plugins/auth.ts';
import { registerBackpressure } from './plugins/backpressure.ts';
import { registerBodyParsing } from './plugins/body-parsing.ts';
import { registerCompression } from './plugins/compression.ts';
import { registerDrain } from './plugins/drain.ts';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './plugins/errors.ts';
import { registerHostGuard } from './plugins/host-guard.ts';
import { named } from './plugins/named.ts';
import { childLoggerFactory, genRequestId, registerRequestContext } from './plugins/request-context.ts';
import { registerRouteTable } from './plugins/route-table.ts';
import { registerServerSpans } from './plugins/server-spans.ts';
import { logRequest } from './request-log.ts';
import { activityRoutes } from './routes/activity.ts';
import { agentEvaluatorRoutes } from './routes/agent-evaluators.ts';
import { agentLabelRoutes } from './routes/agent-labels.ts';
import { agentVersionRoutes } from './routes/agent-versions.ts';
import { agentRoutes } from './routes/agents.ts';
import { annotationQueueRoutes } from './routes/annotation-queues.ts';
import { chatRoutes } from './routes/chat.ts';
import { consoleAuthRoutes } from './routes/console-auth.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { evaluatorRoutes } from './routes/evaluators.ts';
import { experimentRoutes } from './routes/experiments.ts';
import { generateRoutes } from './routes/generate.ts';
import { healthRoutes } from './routes/health.ts';
import { journalRoutes } from './routes/journal.ts';
import { jsonSchemaRoutes } from './routes/json-schemas.ts';
import { keyRoutes } from './routes/keys.ts';
import { knowledgeBaseRoutes } from './routes/knowledge-bases.ts';
import { localDevRoutes } from './routes/local-dev.ts';
import { mcpServerRoutes } from './routes/mcp-servers.ts';
import { multiAgentRunRoutes } from './routes/multi-agent-runs.ts';
import { multiAgentRoutes } from './routes/multi-agents.ts';
import { policyRoutes } from './routes/policy.ts';
import { poolRoutes } from './routes/pools.ts';
import { runScoreRoutes } from './routes/run-scores.ts';
import { runRoutes } from './routes/runs.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { scoreConfigRoutes } from './routes/score-configs.ts';
import { serviceEvaluatorRoutes } from './routes/service-evaluators.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { taskRoutes } from './routes/tasks.ts';
import { templateRoutes } from './routes/templates.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { toolRoutes } from './routes/tools.ts';
import { usageRoutes } from './routes/usage.ts';
import type { Services } from './services.ts';

/** The house's route plugins, registered in this order after the docs page. */
const routeGroups: readonly ((services: Services) => FastifyPluginAsync)[] = [
  healthRoutes,
  journalRoutes,
  templateRoutes,
  agentRoutes,
  agentVersionRoutes,
  agentLabelRoutes,
  localDevRoutes,
  deploymentRoutes,
  multiAgentRoutes,
  multiAgentRunRoutes,
  generateRoutes,
  tenantRoutes,
  keyRoutes,
  taskRoutes,
  scheduleRoutes,
  datasetRoutes,
  evaluatorRoutes,
  experimentRoutes,
  usageRoutes,
  policyRoutes,
  poolRoutes,
  chatRoutes,
  sessionRoutes,
  runRoutes,
  runScoreRoutes,
  scoreConfigRoutes,
  annotationQueueRoutes,
  agentEvaluatorRoutes,
  serviceEvaluatorRoutes,
  activityRoutes,
  knowledgeBaseRoutes,
  mcpServerRoutes,
  toolRoutes,
];

/**
 * Builds the HTTP front door: plugins, then routes. Listening is the caller's business. A worker
 * process (`fleet.role: worker`) serves only the health and metrics endpoints, for its orchestrator.
 * `doors`: the routes of the wire protocols (doors/registry.ts), handed in so `http/` imports no door.
 */
export async function buildHttp(
  services: Services,
  log: Logger,
  routes: 'all' | 'health' = 'all',
  doors: readonly FastifyPluginAsync[] = [],
): Promise<FastifyInstance> {
  const { config, metrics } = services;
  const app = Fastify({
    loggerInstance: log,
    genReqId: genRequestId,
    childLoggerFactory,
    bodyLimit: config.server.body_limit,
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    // Errors met before a request reaches a route (malformed URL, oversized headers, garbage on
    // the wire) answer in the same error format as everything else.
    frameworkErrors,
    clientErrorHandler,
    routerOptions: { maxParamLength: 200 },
    // Behind a proxy, X-Forwarded-For is trusted only from loopback.
    trustProxy: '127.0.0.1',
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);
  // Response schemas document the API; serialising is plain JSON.stringify (validating every
  // response on the hot path costs more than it catches, and tests check the shapes).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  registerRouteTable(app);
  app.decorate('openStreams', metrics.openStreams);
  app.decorate('streamLimits', {
    stallMs: config.server.stream_stall_ms,
    maxBufferedBytes: config.server.stream_max_buffered_bytes,
  });

  registerRequestContext(app);
  registerDrain(app);
  await registerServerSpans(app);
  registerErrorHandling(app, {
    storeRetryAfterSeconds: config.store.retry_after_seconds,
    onStoreUnavailable: () => metrics.storeUnavailable.inc(),
  });
  registerBodyParsing(app, config.server.json_max_depth);
  await registerBackpressure(app, config, services.storeLoad);
  registerAdmission(app, config.server.admission, {
    bodyLimit: config.server.body_limit,
    retryAfterSeconds: config.store.retry_after_seconds,
    stallMs: config.server.stream_stall_ms,
  });
  registerHostGuard(app, {
    bind: config.server.host,
    allowedHosts: config.server.allowed_hosts,
    allowedOrigins: config.server.allowed_origins,
    publicUrl: config.a2a.public_url,
  });
  registerAuth(app, services.authenticator, (reason) => metrics.authFailures.inc({ reason }));

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    logRequest(request, reply);
  });

  if (routes === 'health') {
    await app.register(named(healthRoutes.name, healthRoutes(services)));
    return app;
  }

  // Before the routes: the plugin adds its hook to each route as it is registered.
  if (config.server.compress) await registerCompression(app, { minBytes: config.server.compress_min_bytes });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Agentry API',
        version: '0.1.0',
        description: 'A self-hosted runtime for AI agents.',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key (agk_…) or a JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    // operationIds, nullable beside a type only, servers: src/http/openapi-document.ts.
    transformObject: (d) => finishDocument('openapiObject' in d ? d.openapiObject : d.swaggerObject),
  });
  await registerDocsPage(app);

  for (const group of routeGroups) await app.register(named(group.name, group(services)));
  await app.register(named(jsonSchemaRoutes.name, jsonSchemaRoutes()));
  await registerCompat(app, services);
  const signInLinks = new SignInLinks();
  app.decorate('signInLinks', signInLinks);
  await app.register(named(consoleAuthRoutes.name, consoleAuthRoutes(services, signInLinks)));
  await registerConsole(app);
  for (const door of doors) await app.register(door);

  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
  return app;
}
