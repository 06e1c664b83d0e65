import { PAGE_SIZE } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { defineQuery } from '../../lib/query';
import type { Ok } from '../../lib/types';

declare module '../../lib/query' {
  interface QueryShapes {
    'knowledge-bases/page': Ok<'/v1/knowledge-bases'>;
    'knowledge-bases/detail': Ok<'/v1/knowledge-bases/{id}'>;
    'knowledge-bases/documents': Ok<'/v1/knowledge-bases/{id}/documents'>;
    'knowledge-bases/document': Ok<'/v1/knowledge-bases/{id}/documents/{documentId}'>;
    'knowledge-bases/chunks': Ok<'/v1/knowledge-bases/{id}/documents/{documentId}/chunks'>;
  }
}

export const kbPage = defineQuery('knowledge-bases/page', async (offset: number) =>
  unwrap(await api.GET('/v1/knowledge-bases', { params: { query: { limit: PAGE_SIZE, offset } } })),
);

export const kbDetail = defineQuery('knowledge-bases/detail', async (id: string) =>
  unwrap(await api.GET('/v1/knowledge-bases/{id}', { params: { path: { id } } })),
);

/** One page of a knowledge base's documents; every page's key starts with the base's. */
export const kbDocuments = defineQuery('knowledge-bases/documents', async (id: string, offset: number) =>
  unwrap(
    await api.GET('/v1/knowledge-bases/{id}/documents', {
      params: { path: { id }, query: { limit: PAGE_SIZE, offset } },
    }),
  ),
);

export const kbDocument = defineQuery('knowledge-bases/document', async (id: string, documentId: string) =>
  unwrap(
    await api.GET('/v1/knowledge-bases/{id}/documents/{documentId}', {
      params: { path: { id, documentId } },
    }),
  ),
);

/** One page of a document's chunks, in document order. */
export const kbChunks = defineQuery(
  'knowledge-bases/chunks',
  async (id: string, documentId: string, offset: number) =>
    unwrap(
      await api.GET('/v1/knowledge-bases/{id}/documents/{documentId}/chunks', {
        params: { path: { id, documentId }, query: { limit: PAGE_SIZE, offset } },
      }),
    ),
);
