import { api, type paths, unwrap } from './api';
import { defineQuery } from './query';
import type { Agent, Message } from './types';

type Health = paths['/health']['get']['responses'][200]['content']['application/json'];
type ModelPage = paths['/v1/models']['get']['responses'][200]['content']['application/json'];
/** OpenAI's list: the shape the console gets (only Anthropic's clients, by their header, get Anthropic's). */
type Models = Extract<ModelPage, { object: 'list' }>['data'];
type Run = paths['/v1/runs/{id}']['get']['responses'][200]['content']['application/json'];
type Datasets = paths['/v1/datasets']['get']['responses'][200]['content']['application/json']['data'];
type Policy = paths['/v1/policy']['get']['responses'][200]['content']['application/json'];
type Kinds = paths['/v1/evaluators/kinds']['get']['responses'][200]['content']['application/json']['data'];
type Evaluators = paths['/v1/evaluators']['get']['responses'][200]['content']['application/json']['data'];

declare module './query' {
  interface QueryShapes {
    'agents/all': Agent[];
    'models/list': Models;
    'health/report': Health;
    'policy/current': Policy;
    'runs/detail': Run;
    'datasets/all': Datasets;
    'sessions/messages': Message[];
    'evaluators/kinds': Kinds;
    'evaluators/all': Evaluators;
  }
}

/** The queries several pages share: each is cached once, in the API's own shape; pages `select` from it. */

/** The tenant's agents (the first 500), for pickers and for naming agents by id. */
export const allAgents = defineQuery(
  'agents/all',
  async () => unwrap(await api.GET('/v1/agents', { params: { query: { limit: 500 } } })).data,
);

/** The models this tenant may use, as /v1/models lists them (id and provider). */
export const modelList = defineQuery(
  'models/list',
  async () => (unwrap(await api.GET('/v1/models')) as Extract<ModelPage, { object: 'list' }>).data,
);

/** The health report; a red system answers 503 with the same report, which is data to show, not an error. */
export const healthReport = defineQuery('health/report', async () => {
  const r = await api.GET('/health');
  if (r.response.status === 503 && r.error) return r.error as Health;
  return unwrap(r);
});

/** The tenant's policy as the server holds it now (tenants.yaml after its last reload). */
export const currentPolicy = defineQuery('policy/current', async () => unwrap(await api.GET('/v1/policy')));

/** One run with the tool calls it waits on (a paused run, an interrupted one). */
export const runDetail = defineQuery('runs/detail', async (id: string) =>
  unwrap(await api.GET('/v1/runs/{id}', { params: { path: { id } } })),
);

/** The tenant's datasets (the first 500), for pickers (an experiment's, a run's "add to dataset"). */
export const allDatasets = defineQuery(
  'datasets/all',
  async () => unwrap(await api.GET('/v1/datasets', { params: { query: { limit: 500 } } })).data,
);

/** A session's messages, oldest first (the first 1,000): the playground's and a fork's kept turns. */
export const sessionMessages = defineQuery(
  'sessions/messages',
  async (sessionId: string) =>
    unwrap(
      await api.GET('/v1/sessions/{id}/messages', {
        params: { path: { id: sessionId }, query: { limit: 1000 } },
      }),
    ).data,
);

/** The evaluator kinds with their parameters as JSON Schema (an experiment's picker, the Evaluators page). */
export const evaluatorKinds = defineQuery(
  'evaluators/kinds',
  async () => unwrap(await api.GET('/v1/evaluators/kinds')).data,
);

/** The tenant's named evaluators (the first 500), each with its newest version, for pickers. */
export const allEvaluators = defineQuery(
  'evaluators/all',
  async () => unwrap(await api.GET('/v1/evaluators', { params: { query: { limit: 500 } } })).data,
);
