import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Page } from '../db/page.ts';
import type {
  BatchResult,
  Document,
  IngestResult,
  KnowledgeBase,
  kbKinds,
  SearchResult,
} from '../memory/schema.ts';
import { ApiClient, CliError, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { type Column, formatTable, print, shortTime } from './output.ts';

/**
 * The kinds `--kind` accepts, checked against the schema's list by the compiler: the schema module
 * (zod, about a hundred modules) loads only when a command needs it, not at every CLI start.
 */
const KB_KINDS: Record<(typeof kbKinds)[number], true> = {
  persona: true,
  domain: true,
  tools: true,
  playbooks: true,
  custom: true,
};

/** A knowledge base by id or by exact name. */
async function findKb(client: ApiClient, ref: string): Promise<KnowledgeBase | undefined> {
  const { isUuid } = await import('../db/ids.ts');
  if (isUuid(ref)) {
    try {
      return await client.get<KnowledgeBase>(`/v1/knowledge-bases/${ref}`);
    } catch (err) {
      if (!(err instanceof CliError && err.status === 404)) throw err;
    }
  }
  for await (const k of client.list<KnowledgeBase>('/v1/knowledge-bases')) if (k.name === ref) return k;
  return undefined;
}

/**
 * Progress after each batch: on a terminal one line redrawn in place (`[#####.....] 12/40 path`);
 * otherwise (a log, a CI job) one plain line per batch on stderr, `ingested 100/250 files`.
 */
function progressBar(total: number) {
  const tty = process.stderr.isTTY;
  return {
    tick(done: number, label: string, last = false) {
      if (!tty) {
        // The closing redraw repeats the last batch's count: a log needs it once.
        if (!last) process.stderr.write(`ingested ${done}/${total} files\n`);
        return;
      }
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      const text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`;
      const columns = process.stderr.columns ?? 100;
      process.stderr.write(`\r${text.slice(0, columns - 1).padEnd(columns - 1)}`);
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

export interface IngestSummary {
  knowledge_base: string;
  files: number;
  created: number;
  updated: number;
  unchanged: number;
  /** Chunks written by this run (created and updated documents). */
  chunks: number;
  skipped: { file: string; reason: string }[];
}

/** The files of a folder to ingest and a summary with nothing counted yet (`kb ingest` and pack installs). */
export async function planIngest(
  kbName: string,
  root: string,
): Promise<{ files: string[]; summary: IngestSummary }> {
  // Loaded here, not with the command tree, which every command (even `--version`) loads.
  const { glob } = await import('tinyglobby');
  // Sorted, so runs are repeatable and the summary reads in folder order; hidden files are skipped.
  const files = (await glob('**/*', { cwd: root, onlyFiles: true, dot: false })).sort();
  const summary: IngestSummary = {
    knowledge_base: kbName,
    files: files.length,
    created: 0,
    updated: 0,
    unchanged: 0,
    chunks: 0,
    skipped: [],
  };
  return { files, summary };
}

/** Counts one answer of the documents endpoint into a summary. */
export function countIngested(summary: IngestSummary, res: IngestResult): void {
  summary[res.status] += 1;
  if (res.status !== 'unchanged') summary.chunks += res.document.chunk_count;
}

/** Most files per batch request: big enough to share embedding calls, small enough for a moving bar. */
const BATCH_FILES = 100;

interface IngestOptions extends ClientOptions {
  kind?: (typeof kbKinds)[number];
  maxBytes: string;
}

async function ingestFolder(kbRef: string, folder: string, options: IngestOptions): Promise<void> {
  const client = ApiClient.from(options);
  const root = path.resolve(folder);
  // Missing or unreadable: refused just below as not a folder.
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new CliError(`${folder} is not a folder`);
  let kb = await findKb(client, kbRef);
  if (!kb && options.kind)
    kb = await client.request<KnowledgeBase>('POST', '/v1/knowledge-bases', {
      body: { name: kbRef, kind: options.kind },
    });
  if (!kb) throw new CliError(`no knowledge base ${kbRef} (pass --kind <kind> to create it)`);

  const { files, summary } = await planIngest(kb.name, root);
  const maxBytes = Number(options.maxBytes);
  const bar = progressBar(files.length);
  // Documents go in batches (one request for many, embedded together by the server), each batch's
  // body kept under the server's limit for one document of `maxBytes`.
  let batch: { file: string; body: Record<string, unknown>; size: number }[] = [];
  let batchBytes = 0;
  let done = 0;
  const send = async () => {
    if (batch.length === 0) return;
    const sent = batch;
    batch = [];
    batchBytes = 0;
    const res = await client.request<BatchResult>('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
      body: sent.map((b) => b.body),
    });
    for (const item of res.data) {
      const file = sent[item.index]!.file;
      if (item.status !== 'failed') countIngested(summary, { status: item.status, document: item.document! });
      // A file the server cannot read is reported and skipped; anything else (auth, upstream) stops.
      else if (['validation_error', 'unprocessable', 'payload_too_large'].includes(item.error?.code ?? ''))
        summary.skipped.push({ file, reason: `${item.error!.code}: ${item.error!.message}` });
      else throw new CliError(`${file}: ${item.error?.code}: ${item.error?.message}`);
    }
    done += sent.length;
    bar.tick(done, sent.at(-1)!.file);
  };
  const { formatOfName } = await import('../memory/formats.ts');
  for (const file of files) {
    const format = formatOfName(file);
    if (!format) {
      summary.skipped.push({ file, reason: `unsupported type (${path.extname(file) || 'no extension'})` });
      done += 1;
      continue;
    }
    const bytes = await readFile(path.join(root, file));
    if (bytes.length === 0 || bytes.length > maxBytes) {
      summary.skipped.push({
        file,
        reason: bytes.length === 0 ? 'empty' : `too large (${bytes.length} bytes > ${maxBytes})`,
      });
      done += 1;
      continue;
    }
    // The source is the path inside the folder, with forward slashes on every platform.
    const source = file.split(path.sep).join('/');
    const body =
      format === 'pdf'
        ? { source, format, content_base64: bytes.toString('base64') }
        : { source, format, content: bytes.toString('utf8') };
    const size = format === 'pdf' ? Math.ceil(bytes.length * 1.34) : bytes.length * 1.1;
    if (batch.length >= BATCH_FILES || batchBytes + size > maxBytes) await send();
    batch.push({ file, body, size });
    batchBytes += size;
  }
  await send();
  // Files the server refused are known only after their batch: the list reads in folder order.
  summary.skipped.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file));
  bar.tick(files.length, 'done', true);
  bar.end();
  print(options.json, summary, () => formatSummary(summary));
}

export function formatSummary(s: IngestSummary): string {
  const lines = [
    `${s.knowledge_base}: ${s.files} files, ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ` +
      `${s.chunks} chunks written, ${s.skipped.length} skipped`,
    ...s.skipped.map((k) => `  skipped ${k.file}: ${k.reason}`),
  ];
  return `${lines.join('\n')}\n`;
}

const kbColumns: Column<KnowledgeBase>[] = [
  { header: 'id', value: (k) => k.id },
  { header: 'name', value: (k) => k.name, max: 40 },
  { header: 'kind', value: (k) => k.kind },
  { header: 'documents', value: (k) => k.document_count },
  { header: 'chunks', value: (k) => k.chunk_count },
  { header: 'updated', value: (k) => shortTime(k.updated_at) },
];

const docColumns: Column<Document>[] = [
  { header: 'id', value: (d) => d.id },
  { header: 'source', value: (d) => d.source, max: 60 },
  { header: 'format', value: (d) => d.format },
  { header: 'chunks', value: (d) => d.chunk_count },
  { header: 'updated', value: (d) => shortTime(d.updated_at) },
];

async function requireKb(client: ApiClient, ref: string): Promise<KnowledgeBase> {
  const kb = await findKb(client, ref);
  if (!kb) throw new CliError(`no knowledge base ${ref}`);
  return kb;
}

/** `agentry kb …`: knowledge bases from the command line. */
export function kbCommand(): Command {
  const kb = new Command('kb').description('Knowledge bases: ingest folders, list, search');

  kb.addCommand(
    withClientOptions(
      new Command('ingest')
        .description(
          'Ingest a folder recursively (text, Markdown, HTML, JSON, PDF); unchanged files are left as they are',
        )
        .argument('<kb>', 'knowledge base name or id')
        .argument('<folder>', 'folder to read')
        .addOption(
          new Option(
            '--kind <kind>',
            'create the knowledge base with this kind if it does not exist',
          ).choices(Object.keys(KB_KINDS)),
        )
        .option('--max-bytes <n>', 'skip files larger than this', String(20 * 1024 * 1024)),
    ).action(action(ingestFolder)),
  );

  kb.addCommand(
    withClientOptions(new Command('list').description('List knowledge bases')).action(
      action(async (options: ClientOptions) => {
        const page = await ApiClient.from(options).get<Page<KnowledgeBase>>('/v1/knowledge-bases', {
          query: { limit: 500 },
        });
        print(options.json, page, () => formatTable(page.data, kbColumns));
      }),
    ),
  );

  kb.addCommand(
    withClientOptions(
      new Command('documents').description("A knowledge base's documents").argument('<kb>'),
    ).action(
      action(async (ref: string, options: ClientOptions) => {
        const client = ApiClient.from(options);
        const k = await requireKb(client, ref);
        const page = await client.get<Page<Document>>(`/v1/knowledge-bases/${k.id}/documents`, {
          query: { limit: 500 },
        });
        print(options.json, page, () => formatTable(page.data, docColumns));
      }),
    ),
  );

  kb.addCommand(
    withClientOptions(
      new Command('search')
        .description('Hybrid search in a knowledge base')
        .argument('<kb>')
        .argument('<query>')
        .option('-k, --top-k <n>', 'how many chunks', '5'),
    ).action(
      action(async (ref: string, query: string, options: ClientOptions & { topK: string }) => {
        const client = ApiClient.from(options);
        const k = await requireKb(client, ref);
        const res = await client.request<SearchResult>('POST', `/v1/knowledge-bases/${k.id}/search`, {
          body: { query, top_k: Number(options.topK) },
        });
        print(
          options.json,
          res,
          () =>
            res.data
              .map(
                (h, i) =>
                  `${i + 1}. ${h.document.source}${h.heading_path.length ? ` › ${h.heading_path.join(' › ')}` : ''} (score ${h.score.toFixed(4)})\n   ${h.content.replace(/\s+/g, ' ').slice(0, 200)}\n`,
              )
              .join('') || '(no match)\n',
        );
      }),
    ),
  );
  return kb;
}
