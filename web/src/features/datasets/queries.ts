import { PAGE_SIZE } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { defineQuery, resourceKey } from '../../lib/query';
import type { Ok } from '../../lib/types';

export type Dataset = Ok<'/v1/datasets/{id}'>;
export type DatasetItem = Ok<'/v1/datasets/{id}/items'>['data'][number];
export type DatasetVersion = Ok<'/v1/datasets/{id}/versions'>['data'][number];

declare module '../../lib/query' {
  interface QueryShapes {
    'datasets/page': Ok<'/v1/datasets'>;
    'datasets/detail': Dataset;
    'datasets/items': Ok<'/v1/datasets/{id}/items'>;
    'datasets/versions': Ok<'/v1/datasets/{id}/versions'>;
  }
}

export const datasetKeys = { all: resourceKey('datasets') };

export const datasetPage = defineQuery('datasets/page', async (offset: number) =>
  unwrap(await api.GET('/v1/datasets', { params: { query: { limit: PAGE_SIZE, offset } } })),
);

export const datasetDetail = defineQuery('datasets/detail', async (id: string) =>
  unwrap(await api.GET('/v1/datasets/{id}', { params: { path: { id } } })),
);

/** One page of a dataset's items, oldest first: now, or as they were at `version`. */
export const datasetItems = defineQuery(
  'datasets/items',
  async (id: string, offset: number, version?: number) =>
    unwrap(
      await api.GET('/v1/datasets/{id}/items', {
        params: { path: { id }, query: { limit: PAGE_SIZE, offset, ...(version && { version }) } },
      }),
    ),
);

/** One page of a dataset's versions, newest first: what each changed and its item count. */
export const datasetVersions = defineQuery('datasets/versions', async (id: string, offset: number) =>
  unwrap(
    await api.GET('/v1/datasets/{id}/versions', {
      params: { path: { id }, query: { limit: PAGE_SIZE, offset } },
    }),
  ),
);
