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
  }
}

export const queueKeys = { all: resourceKey('annotation-queues') };

export const queuePage = defineQuery('annotation-queues/page', async (offset: number) =>
  unwrap(await api.GET('/v1/annotation-queues', { params: { query: { limit: PAGE_SIZE, offset } } })),
);

export const queueDetail = defineQuery('annotation-queues/detail', async (id: string) =>
  unwrap(await api.GET('/v1/annotation-queues/{id}', { params: { path: { id } } })),
);
