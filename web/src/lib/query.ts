import {
  type DataTag,
  type InfiniteData,
  infiniteQueryOptions,
  queryOptions,
  type UseInfiniteQueryOptions,
  type UseQueryOptions,
  useInfiniteQuery,
  useQuery,
} from '@tanstack/react-query';

/**
 * What the cache holds under each query name, `'<resource>/<view>'` → the data's shape. Each
 * feature's `queries.ts` (and lib/resources.ts for what several share) adds its names here by
 * declaration merging; a second module giving a name another shape does not compile (TS2717), so two
 * pages can never cache different things under one key. The features reach the cache only through
 * `defineQuery` and the hooks below (biome.json forbids TanStack's own in web/src).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by each queries module
export interface QueryShapes {}

type Name = keyof QueryShapes & `${string}/${string}`;
type Key<T> = DataTag<readonly unknown[], T, Error>;

/** The key prefix of every query of a resource (`['agents']`), for one-line invalidation. */
export const resourceKey = (resource: Name extends `${infer R}/${string}` ? R : never) => [resource] as const;

/**
 * The one query a name stands for: its key (`[resource, view, ...params]`, tagged with its shape)
 * and the fetch that fills it.
 */
export function defineQuery<N extends Name, P extends unknown[]>(
  name: N,
  fetch: (...params: P) => Promise<QueryShapes[N]>,
) {
  const [resource, view] = name.split('/');
  return (...params: P) =>
    queryOptions({
      queryKey: [resource, view, ...params] as readonly unknown[] as Key<QueryShapes[N]>,
      queryFn: () => fetch(...params),
    });
}

/** An infinite (paged) query per name: the shape is one page, the cache holds the pages. */
export function defineInfiniteQuery<N extends Name, P extends unknown[], Cursor>(
  name: N,
  fetch: (cursor: Cursor, ...params: P) => Promise<QueryShapes[N]>,
  paging: { first: Cursor; next: (last: QueryShapes[N]) => Cursor | undefined },
) {
  const [resource, view] = name.split('/');
  type Pages = InfiniteData<QueryShapes[N], Cursor>;
  return (...params: P) =>
    infiniteQueryOptions<QueryShapes[N], Error, Pages, DataTag<readonly unknown[], Pages, Error>, Cursor>({
      queryKey: [resource, view, ...params] as readonly unknown[] as DataTag<
        readonly unknown[],
        Pages,
        Error
      >,
      queryFn: ({ pageParam }) => fetch(pageParam as Cursor, ...params),
      initialPageParam: paging.first,
      getNextPageParam: (last) => paging.next(last),
    });
}

/** useQuery for a defined query only: a key written by hand has no shape tag and does not compile. */
export function useApiQuery<T, S = T>(options: UseQueryOptions<T, Error, S, Key<T>>) {
  return useQuery(options);
}

/** useInfiniteQuery for a defined infinite query only. */
export function useApiInfiniteQuery<T, Cursor>(
  options: UseInfiniteQueryOptions<
    T,
    Error,
    InfiniteData<T, Cursor>,
    DataTag<readonly unknown[], InfiniteData<T, Cursor>, Error>,
    Cursor
  >,
) {
  return useInfiniteQuery(options);
}
