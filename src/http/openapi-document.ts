/**
 * The last pass over the OpenAPI document that @fastify/swagger builds from the routes' zod schemas:
 * every operation gets an operationId, `nullable` stands only beside a `type` (OpenAPI 3.0 ignores
 * it elsewhere), and `servers` names this server. Generated clients and the console's types take
 * their names from here (`createAgent`, not `postV1Agents`); Redocly's recommended rules pass.
 */

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;
/** The verb of an operation on one item, or (POST) on a collection. */
const ITEM_VERB = { get: 'get', put: 'replace', patch: 'update', delete: 'delete', post: 'create' };
/** Words that end in s without being plurals. */
const NOT_PLURAL = new Set(['status', 'series', 'stats', 'metrics']);
/** Path prefixes that name no resource. */
const PREFIXES = new Set(['api', 'v1']);

const isParam = (segment: string) => /^[{:]/.test(segment);
const words = (segment: string) =>
  segment
    .replace(/^[{:]|}$/g, '')
    .replace(/[_-]id$|Id$/, '')
    .split(/[^a-zA-Z0-9]+|(?=[A-Z])/)
    .filter(Boolean);
const pascal = (parts: readonly string[]) =>
  parts.map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join('');
const isPlural = (segment: string) => segment.endsWith('s') && !NOT_PLURAL.has(segment);
const singular = (segment: string) =>
  !isPlural(segment) ? segment : segment.endsWith('ies') ? `${segment.slice(0, -3)}y` : segment.slice(0, -1);

/**
 * An operation's id by REST convention, from its method and path: `GET /v1/agents` listAgents,
 * `POST /v1/agents` createAgent, `GET|PATCH|DELETE /v1/agents/{id}` getAgent, updateAgent,
 * deleteAgent, `POST /v1/tasks/{id}/cancel` cancelTask, `GET /v1/runs/{id}/trace` getRunTrace.
 * A collection followed by an id is named in the singular. The compatibility families' operations
 * are prefixed with the family (`isaListAgentsConfigs`). A route whose schema states an
 * `operationId` keeps it: that is the place for a name this convention gets wrong.
 */
export function operationIdOf(method: string, path: string, tags: readonly string[] = []): string {
  const m = method.toLowerCase() as (typeof METHODS)[number];
  // A file's name is a noun like the others: /.well-known/agent-card.json is the agent card.
  const segments = path
    .split('/')
    .filter((s) => s && s !== '.well-known')
    .map((s) => s.replace(/\.json$/, ''));
  while (segments.length > 1 && PREFIXES.has(segments[0]!)) segments.shift();
  // Each static segment is a noun; one followed by a parameter stands for one item of it.
  const nouns: string[] = [];
  segments.forEach((s, i) => {
    if (!isParam(s)) nouns.push(isParam(segments[i + 1] ?? '') ? singular(s) : s);
    else if (isParam(segments[i - 1] ?? '')) nouns.push(words(s).join('_'));
  });
  const last = segments.at(-1) ?? '';
  let verb: string;
  if (isParam(last)) verb = ITEM_VERB[m] ?? m;
  else if (m === 'get') verb = isPlural(last) ? 'list' : 'get';
  else if (m === 'post' && isPlural(last)) {
    verb = 'create';
    nouns[nouns.length - 1] = singular(last);
  } else if (m === 'post')
    verb = nouns.pop() ?? m; // an action: /tasks/{id}/cancel
  else verb = m;
  const family = /^compat: (\w+)/.exec(tags[0] ?? '')?.[1];
  const id = `${pascal(words(verb))}${pascal(nouns.flatMap(words))}`;
  const named = id.charAt(0).toLowerCase() + id.slice(1);
  return family ? `${family.toLowerCase()}${named.charAt(0).toUpperCase()}${named.slice(1)}` : named;
}

type Json = Record<string, unknown>;

/**
 * `nullable: true` beside `anyOf`/`oneOf` and no `type` (zod's `.nullable()` on a union): OpenAPI 3.0
 * ignores it there, so it moves onto each branch that has a type.
 */
function fixNullableUnions(node: unknown): void {
  if (Array.isArray(node)) {
    for (const n of node) fixNullableUnions(n);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const schema = node as Json;
  const branches = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (schema.nullable === true && schema.type === undefined && Array.isArray(branches)) {
    delete schema.nullable;
    for (const b of branches) if (b.type !== undefined) b.nullable = true;
  }
  for (const v of Object.values(schema)) fixNullableUnions(v);
}

/**
 * A route ending in a wildcard (`/v1/models/*`: model ids hold `/`) takes the rest of the path as
 * one value: documented as an `{id}` parameter, which OpenAPI's path templates can express.
 */
function nameWildcards(paths: Record<string, Record<string, Json>>): void {
  for (const [path, item] of Object.entries(paths)) {
    if (!path.endsWith('/{*}')) continue;
    for (const method of METHODS) {
      for (const p of (item[method]?.parameters ?? []) as Json[]) if (p.name === '*') p.name = 'id';
    }
    delete paths[path];
    paths[`${path.slice(0, -4)}/{id}`] = item;
  }
}

/** The document as served: see the file's comment. */
export function finishDocument<D extends Json>(doc: D): D {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  nameWildcards(paths);
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op && !op.operationId) op.operationId = operationIdOf(method, path, (op.tags ?? []) as string[]);
    }
  }
  fixNullableUnions(paths);
  fixNullableUnions(doc.components);
  if (!Array.isArray(doc.servers) || doc.servers.length === 0) {
    Object.assign(doc, { servers: [{ url: '/', description: 'The server that serves this document' }] });
  }
  return doc;
}
