import { PAGE_SIZE } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { defineQuery, resourceKey } from '../../lib/query';
import type { Ok } from '../../lib/types';

export type Experiment = Ok<'/v1/experiments/{id}'>;
export type ExperimentItem = Ok<'/v1/experiments/{id}/items'>['data'][number];
export type Comparison = Ok<'/v1/experiments/compare'>;

declare module '../../lib/query' {
  interface QueryShapes {
    'experiments/page': Ok<'/v1/experiments'>;
    'experiments/detail': Experiment;
    'experiments/items': Ok<'/v1/experiments/{id}/items'>;
    'experiments/compare': Comparison;
  }
}

export const experimentKeys = { all: resourceKey('experiments') };

export const experimentPage = defineQuery('experiments/page', async (offset: number) =>
  unwrap(await api.GET('/v1/experiments', { params: { query: { limit: PAGE_SIZE, offset } } })),
);

export const experimentDetail = defineQuery('experiments/detail', async (id: string) =>
  unwrap(await api.GET('/v1/experiments/{id}', { params: { path: { id } } })),
);

/** Which items a results table shows: by status, or those an evaluator failed. */
export interface ItemFilters {
  status?: 'pending' | 'running' | 'completed' | 'error';
  failed?: string;
}

/** One page of an experiment's per-item results, in the dataset's order. */
export const experimentItems = defineQuery(
  'experiments/items',
  async (id: string, offset: number, filters: ItemFilters) =>
    unwrap(
      await api.GET('/v1/experiments/{id}/items', {
        params: { path: { id }, query: { limit: PAGE_SIZE, offset, ...filters } },
      }),
    ),
);

/** Experiments item by item against the baseline (the first when none is named). */
export const experimentCompare = defineQuery(
  'experiments/compare',
  async (ids: string[], baseline: string | undefined) =>
    unwrap(
      await api.GET('/v1/experiments/compare', {
        params: { query: { ids: ids.join(','), ...(baseline && { baseline }) } },
      }),
    ),
);
