import { PAGE_SIZE } from '../../components/Pager';
import { api, type paths, unwrap } from '../../lib/api';
import { defineQuery, resourceKey } from '../../lib/query';
import type { Ok } from '../../lib/types';

export type Queue = Ok<'/v1/annotation-queues/{id}'>;
export type ScoreConfig = Queue['score_configs'][number];
export type Next =
  paths['/v1/annotation-queues/{id}/next']['post']['responses'][200]['content']['application/json'];
export type Review = NonNullable<Next['review']>;

declare module '../../lib/query' {
  interface QueryShapes {
    'annotation-queues/page': Ok<'/v1/annotation-queues'>;
    'annotation-queues/detail': Queue;
    'annotation-queues/choices': {
      configs: Ok<'/v1/score-configs'>['data'];
      datasets: Ok<'/v1/datasets'>['data'];
      experiments: Ok<'/v1/experiments'>['data'];
    };
  }
}

export const queueKeys = { all: resourceKey('annotation-queues') };

export const queuePage = defineQuery('annotation-queues/page', async (offset: number) =>
  unwrap(await api.GET('/v1/annotation-queues', { params: { query: { limit: PAGE_SIZE, offset } } })),
);

export const queueDetail = defineQuery('annotation-queues/detail', async (id: string) =>
  unwrap(await api.GET('/v1/annotation-queues/{id}', { params: { path: { id } } })),
);

/** What a new queue can name: the live score configs, and the datasets and experiments to pick from. */
export const queueChoices = defineQuery('annotation-queues/choices', async () => {
  const [configs, datasets, experiments] = await Promise.all([
    api.GET('/v1/score-configs', { params: { query: { limit: 500 } } }).then(unwrap),
    api.GET('/v1/datasets', { params: { query: { limit: 500 } } }).then(unwrap),
    api.GET('/v1/experiments', { params: { query: { limit: 100 } } }).then(unwrap),
  ]);
  return { configs: configs.data, datasets: datasets.data, experiments: experiments.data };
});
