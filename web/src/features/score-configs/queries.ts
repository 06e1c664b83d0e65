import { PAGE_SIZE } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { defineQuery, resourceKey } from '../../lib/query';
import type { Ok } from '../../lib/types';

export type ScoreConfig = Ok<'/v1/score-configs/{id}'>;

declare module '../../lib/query' {
  interface QueryShapes {
    'score-configs/page': Ok<'/v1/score-configs'>;
    'score-configs/detail': ScoreConfig;
  }
}

export const scoreConfigKeys = { all: resourceKey('score-configs') };

/** One page of the tenant's score configs by name; archived ones too when asked. */
export const scoreConfigPage = defineQuery('score-configs/page', async (offset: number, archived: boolean) =>
  unwrap(
    await api.GET('/v1/score-configs', {
      params: { query: { limit: PAGE_SIZE, offset, ...(archived && { archived: 'true' as const }) } },
    }),
  ),
);

export const scoreConfigDetail = defineQuery('score-configs/detail', async (id: string) =>
  unwrap(await api.GET('/v1/score-configs/{id}', { params: { path: { id } } })),
);

/** A config's scale in words: `1 to 5`, `good (1), bad (0)`, `true or false`. */
export function scaleOf(c: Pick<ScoreConfig, 'kind' | 'min' | 'max' | 'categories'>): string {
  if (c.kind === 'boolean') return 'true or false';
  if (c.kind === 'categorical') return (c.categories ?? []).map((x) => `${x.label} (${x.value})`).join(', ');
  if (c.min === null && c.max === null) return 'any number';
  if (c.min === null) return `at most ${c.max}`;
  if (c.max === null) return `at least ${c.min}`;
  return `${c.min} to ${c.max}`;
}
