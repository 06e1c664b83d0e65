import { PAGE_SIZE } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { defineQuery, resourceKey } from '../../lib/query';
import type { Ok } from '../../lib/types';

export type NamedEvaluator = Ok<'/v1/evaluators/{ref}'>;
export type Kind = Ok<'/v1/evaluators/kinds'>['data'][number];

declare module '../../lib/query' {
  interface QueryShapes {
    'evaluators/page': Ok<'/v1/evaluators'>;
    'evaluators/detail': NamedEvaluator;
    'evaluators/versions': Ok<'/v1/evaluators/{ref}/versions'>;
  }
}

export const evaluatorKeys = { all: resourceKey('evaluators') };

export const evaluatorPage = defineQuery('evaluators/page', async (offset: number) =>
  unwrap(await api.GET('/v1/evaluators', { params: { query: { limit: PAGE_SIZE, offset } } })),
);

export const evaluatorDetail = defineQuery('evaluators/detail', async (id: string) =>
  unwrap(await api.GET('/v1/evaluators/{ref}', { params: { path: { ref: id } } })),
);

/** One page of a named evaluator's versions, newest first. */
export const evaluatorVersions = defineQuery('evaluators/versions', async (id: string, offset: number) =>
  unwrap(
    await api.GET('/v1/evaluators/{ref}/versions', {
      params: { path: { ref: id }, query: { limit: PAGE_SIZE, offset } },
    }),
  ),
);
