/**
 * One spec every front door passes, as every provider passes the provider spec: its caller's
 * mistakes answered in the door's own error shape, with the house's statuses and codes (one mapper,
 * src/doors/wire-errors.ts, decides them for every door). Auth: no key, a wrong key and a revoked
 * one are 401, a key without the scope 403, another tenant's agent or response 404 (never there,
 * never a 500).
 * Limits: a body past the route's limit 413, a body that is not JSON by its type 415, malformed
 * JSON 400, and past a rate limit 429 with Retry-After. The table is typed by the registry
 * (`doorNames`): a new door does not compile until it has its row here; a check an endpoint cannot
 * take, or answers otherwise by its protocol (A2A's JSON-RPC parse error, MCP's tool errors), is
 * written in its row, with why. One server for the file; plain fetch, as any client sees it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { MEDIA_BODY_LIMIT } from '../../src/doors/openai/chat-completions.ts';
import { OTLP_BODY_LIMIT } from '../../src/doors/otlp/routes.ts';
import type { DoorName } from '../../src/doors/registry.ts';
import { startServer, type TestResponse, type TestServer } from '../helpers/server.ts';

/** What the spec made before knocking: an agent of the default tenant, and keys. */
interface World {
  agentId: string;
  responseId: string;
  /** The admin key of another tenant. */
  otherKey: string;
  readKey: string;
  /** A write key, revoked. */
  revokedKey: string;
  /** A key that may only post scores (`feedback`): no read, no write. */
  feedbackKey: string;
}

type Check =
  | 'noKey'
  | 'wrongKey'
  | 'revokedKey'
  | 'narrowKey'
  | 'readOnly'
  | 'foreign'
  | 'tooLarge'
  | 'wrongType'
  | 'malformed'
  | 'rateLimited';

/** The status each check expects when the door answers it in its error shape. */
const statusOf: Record<Check, number> = {
  noKey: 401,
  wrongKey: 401,
  revokedKey: 401,
  narrowKey: 403,
  readOnly: 403,
  foreign: 404,
  tooLarge: 413,
  wrongType: 415,
  malformed: 400,
  rateLimited: 429,
};

/** The house's code for each status, whatever the door's body (wire-errors.ts). */
const codeOf: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** A door's error body: asserts `res` is its error for `status`, and returns the message. */
type Shape = (res: TestResponse, status: number) => string;

const keysOf = (o: object) => Object.keys(o).sort();

function answered(res: TestResponse, status: number) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(typeof res.body.request_id, 'string');
}

/** OpenAI's `{error: {message, type, param, code}}`, which its clients parse by status. */
const openaiTypes: Record<number, string> = {
  401: 'authentication_error',
  403: 'permission_error',
  429: 'rate_limit_error',
};
const openai: Shape = (res, status) => {
  answered(res, status);
  assert.deepEqual(keysOf(res.body), ['error', 'request_id']);
  assert.deepEqual(keysOf(res.body.error), ['code', 'message', 'param', 'type']);
  assert.equal(res.body.error.type, openaiTypes[status] ?? 'invalid_request_error');
  assert.equal(res.body.error.code, codeOf[status]);
  return res.body.error.message;
};

/** Anthropic's `{type: 'error', error: {type, message}}`, its clients' error classes by type. */
const anthropicTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};
const anthropic: Shape = (res, status) => {
  answered(res, status);
  assert.deepEqual(keysOf(res.body), ['error', 'request_id', 'type']);
  assert.equal(res.body.type, 'error');
  assert.deepEqual(keysOf(res.body.error), ['message', 'type']);
  assert.equal(res.body.error.type, anthropicTypes[status]);
  return res.body.error.message;
};

/** The house's `{error: {code, message}}`: MCP's and A2A's answers at the HTTP level. */
const house: Shape = (res, status) => {
  answered(res, status);
  assert.deepEqual(keysOf(res.body), ['error', 'request_id']);
  assert.equal(res.body.error.code, codeOf[status]);
  return res.body.error.message;
};

/** OTLP's Status (`code`, gRPC's code for the status; `message`) beside the house's error. */
const grpcCodes: Record<number, number> = { 400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 429: 8 };
const otlp: Shape = (res, status) => {
  answered(res, status);
  assert.deepEqual(keysOf(res.body), ['code', 'error', 'message', 'request_id']);
  assert.equal(res.body.code, grpcCodes[status]);
  assert.equal(res.body.error.code, codeOf[status]);
  assert.equal(res.body.message, res.body.error.message);
  return res.body.message;
};

interface Knock {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A check the endpoint cannot take, and why. */
interface Cannot {
  cannot: string;
}
/** What the endpoint answers instead of its shape with the check's status, asserted here. */
type Otherwise = (res: TestResponse) => void;

interface Endpoint {
  /** A request the endpoint serves with the admin key. */
  ok: (w: World) => Knock;
  /** The route's body limit when it is not the server's `body_limit`. */
  limit?: number;
  /** Needs the write scope (a read key is refused). */
  write?: boolean;
  /** A request for the default tenant's agent or response, sent with another tenant's key. */
  foreign: ((w: World) => Knock) | Cannot;
  /** Also streams (`stream: true`): its 429 comes before the stream opens, in the same shape. */
  streams?: boolean;
  /** Checks this endpoint answers otherwise, or cannot take. */
  otherwise?: Partial<Record<Check, Otherwise | Cannot>>;
}

interface DoorRow {
  shape: Shape;
  endpoints: Record<string, Endpoint>;
}

const bodyLimit = 4096;
const noBody: Cannot = { cannot: 'a GET takes no body' };
const unmetered: Cannot = { cannot: 'no model call: nothing a rate limit counts' };
const anthropicVersion = { 'anthropic-version': '2023-06-01' };
const mcpAccept = { accept: 'application/json, text/event-stream' };
const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });
const message = (model: string) => ({ ...chat(model), max_tokens: 5 });
const post = (path: string, body: unknown, headers?: Record<string, string>): Knock => ({
  method: 'POST',
  path,
  body,
  headers,
});
const rpc = (method: string, params: unknown) => ({ jsonrpc: '2.0', id: 1, method, params });
const callHelper = rpc('tools/call', { name: 'agent_helper', arguments: { message: 'hi' } });
const sendMessage = rpc('message/send', {
  message: { kind: 'message', messageId: 'm1', role: 'user', parts: [{ kind: 'text', text: 'hi' }] },
});

/** The JSON-RPC result of an MCP answer (an event stream of one message). */
function mcpResult(res: TestResponse) {
  assert.equal(res.status, 200, res.text);
  const data = res.text.split('\n').find((l) => l.startsWith('data: '));
  assert.ok(data, res.text);
  return JSON.parse(data.slice('data: '.length)).result as { isError: boolean; content: { text: string }[] };
}
const mcpToolError = (pattern: RegExp) => (res: TestResponse) => {
  const result = mcpResult(res);
  assert.equal(result.isError, true, res.text);
  assert.match(result.content[0]!.text, pattern);
};

/** An OTLP/JSON export of two spans: past a limit of one span a minute. */
const twoSpans = {
  resourceSpans: [
    {
      resource: { attributes: [] },
      scopeSpans: [
        {
          spans: ['01', '02'].map((n) => ({
            traceId: 'ab'.repeat(16),
            spanId: `${'cd'.repeat(7)}${n}`,
            name: 'step',
            startTimeUnixNano: '1000000',
            endTimeUnixNano: '2000000',
          })),
        },
      ],
    },
  ],
};

const rows = {
  openai: {
    shape: openai,
    endpoints: {
      'POST /v1/chat/completions': {
        ok: () => post('/v1/chat/completions', chat('mock/echo')),
        // Room for inline media: its own limit, above the server's.
        limit: MEDIA_BODY_LIMIT,
        write: true,
        streams: true,
        foreign: () => post('/v1/chat/completions', chat('agent/helper')),
      },
      'POST /v1/responses': {
        ok: () => post('/v1/responses', { model: 'mock/echo', input: 'hi' }),
        write: true,
        streams: true,
        foreign: (w) =>
          post('/v1/responses', { model: 'mock/echo', input: 'hi', previous_response_id: w.responseId }),
      },
      'GET /v1/responses/{id}': {
        ok: (w) => ({ method: 'GET', path: `/v1/responses/${w.responseId}` }),
        foreign: (w) => ({ method: 'GET', path: `/v1/responses/${w.responseId}` }),
        otherwise: { tooLarge: noBody, wrongType: noBody, malformed: noBody, rateLimited: unmetered },
      },
      'POST /v1/embeddings': {
        ok: () => post('/v1/embeddings', { model: 'mock/echo', input: 'hi' }),
        write: true,
        // Agents are no embedding models: `agent/helper` is no model of any tenant's here.
        foreign: () => post('/v1/embeddings', { model: 'agent/helper', input: 'hi' }),
      },
      'GET /v1/models': {
        ok: () => ({ method: 'GET', path: '/v1/models' }),
        foreign: () => ({ method: 'GET', path: '/v1/models' }),
        otherwise: {
          // The list is the caller's tenant's own: another tenant's agents are not in it.
          foreign: (res) => {
            assert.equal(res.status, 200, res.text);
            assert.doesNotMatch(res.text, /agent\/helper/);
          },
          tooLarge: noBody,
          wrongType: noBody,
          malformed: noBody,
          rateLimited: unmetered,
        },
      },
      'GET /v1/models/{id}': {
        ok: () => ({ method: 'GET', path: '/v1/models/agent/helper' }),
        foreign: () => ({ method: 'GET', path: '/v1/models/agent/helper' }),
        otherwise: { tooLarge: noBody, wrongType: noBody, malformed: noBody, rateLimited: unmetered },
      },
    },
  },
  anthropic: {
    shape: anthropic,
    endpoints: {
      'POST /v1/messages': {
        ok: () => post('/v1/messages', message('mock/echo'), anthropicVersion),
        write: true,
        streams: true,
        foreign: () => post('/v1/messages', message('agent/helper'), anthropicVersion),
      },
      'POST /v1/messages/count_tokens': {
        ok: () => post('/v1/messages/count_tokens', chat('mock/echo'), anthropicVersion),
        foreign: { cannot: 'counting names no agent of a tenant: any model is counted alike' },
        otherwise: { rateLimited: unmetered },
      },
      // GET /v1/models answers Anthropic's clients (they send anthropic-version) in their shape.
      'GET /v1/models/{id}': {
        ok: () => ({ method: 'GET', path: '/v1/models/agent/helper', headers: anthropicVersion }),
        foreign: () => ({ method: 'GET', path: '/v1/models/agent/helper', headers: anthropicVersion }),
        otherwise: { tooLarge: noBody, wrongType: noBody, malformed: noBody, rateLimited: unmetered },
      },
    },
  },
  mcp: {
    // A 401 also names the Bearer scheme (checked below); the body is the house's.
    shape: house,
    endpoints: {
      'POST /mcp': {
        ok: () => post('/mcp', callHelper, mcpAccept),
        // Listing needs read; calling an agent is refused inside, as the tool's error.
        foreign: () => post('/mcp', callHelper, mcpAccept),
        otherwise: {
          readOnly: mcpToolError(/read-only.*write scope/),
          foreign: mcpToolError(/Tool agent_helper not found/),
          // The door is not metered; the agent's run is, and fails naming the limit.
          rateLimited: mcpToolError(/the run failed: .*requests_per_minute exceeded/),
        },
      },
    },
  },
  a2a: {
    shape: house,
    endpoints: {
      'POST /a2a/{agent}': {
        ok: (w) => post(`/a2a/${w.agentId}`, sendMessage),
        write: true,
        foreign: (w) => post(`/a2a/${w.agentId}`, sendMessage),
        otherwise: {
          // JSON-RPC's Parse error, with HTTP 200 as every JSON-RPC answer of this endpoint.
          malformed: (res) => {
            assert.equal(res.status, 200, res.text);
            assert.equal(res.body.jsonrpc, '2.0');
            assert.equal(res.body.id, null);
            assert.equal(res.body.error.code, -32700);
          },
          // The door is not metered; the task's run is, and fails naming the limit.
          rateLimited: (res) => {
            assert.equal(res.status, 200, res.text);
            assert.equal(res.body.result.status.state, 'failed', res.text);
            assert.match(JSON.stringify(res.body.result.status.message), /requests_per_minute exceeded/);
          },
        },
      },
    },
  },
  otlp: {
    shape: otlp,
    endpoints: {
      'POST /v1/traces': {
        ok: () => post('/v1/traces', twoSpans),
        limit: OTLP_BODY_LIMIT,
        write: true,
        foreign: { cannot: "spans name no tenant's agent or run: they become the key's tenant's runs" },
      },
    },
  },
} satisfies Record<DoorName, DoorRow>;

describe('door spec: every front door answers its callers’ mistakes in its own shape', () => {
  let s: TestServer;
  let w: World;
  before(async () => {
    s = await startServer('pglite', { server: { body_limit: bodyLimit } });
    const agent = await s.request('POST', '/v1/agents', {
      body: { name: 'helper', model: 'mock/echo', visibility: 'public' },
    });
    assert.equal(agent.status, 201, agent.text);
    const response = await s.request('POST', '/v1/responses', { body: { model: 'mock/echo', input: 'hi' } });
    assert.equal(response.status, 200, response.text);
    const other = await s.request('POST', '/v1/tenants', { body: { name: 'other' } });
    assert.equal(other.status, 201, other.text);
    const key = async (scopes: string[]) => {
      const made = await s.request('POST', '/v1/keys', { body: { name: scopes[0], scopes } });
      assert.equal(made.status, 201, made.text);
      return made.body as { id: string; secret: string };
    };
    const revoked = await key(['write']);
    const revoke = await s.request('POST', `/v1/keys/${revoked.id}/revoke`, {});
    assert.equal(revoke.status, 200, revoke.text);
    w = {
      agentId: agent.body.id,
      responseId: response.body.id,
      otherKey: other.body.admin_key.secret,
      readKey: (await key(['read'])).secret,
      revokedKey: revoked.secret,
      feedbackKey: (await key(['feedback'])).secret,
    };
  });
  after(() => s.close());

  const send = (k: Knock, key: string | null = s.adminKey, extra: Partial<Knock> = {}) =>
    s.request(k.method, k.path, {
      key,
      body: extra.body ?? k.body,
      headers: { ...k.headers, ...extra.headers },
    });

  /** The check's request, or why the endpoint cannot take it. */
  const requests: Record<Check, (e: Endpoint) => Promise<TestResponse> | Cannot> = {
    noKey: (e) => send(e.ok(w), null),
    // Well formed, of the right length, but no key the store holds.
    wrongKey: (e) =>
      send(e.ok(w), `${s.adminKey.slice(0, -4)}${s.adminKey.endsWith('0000') ? '1111' : '0000'}`),
    revokedKey: (e) => send(e.ok(w), w.revokedKey),
    narrowKey: (e) => send(e.ok(w), w.feedbackKey),
    readOnly: (e) =>
      e.write || e.otherwise?.readOnly ? send(e.ok(w), w.readKey) : { cannot: 'a read key may' },
    foreign: (e) => ('cannot' in e.foreign ? e.foreign : send(e.foreign(w), w.otherKey)),
    tooLarge: (e) => send(e.ok(w), s.adminKey, { body: ' '.repeat((e.limit ?? bodyLimit) + 1) }),
    wrongType: (e) => send(e.ok(w), s.adminKey, { body: 'hello', headers: { 'content-type': 'text/plain' } }),
    malformed: (e) => send(e.ok(w), s.adminKey, { body: '{"model": ' }),
    // Sent twice: the second is past a limit of one a minute (set below), whatever the first met.
    rateLimited: async (e) => {
      await send(e.ok(w));
      return send(e.ok(w));
    },
  };

  const knock = async (shape: Shape, e: Endpoint, check: Check) => {
    const how = e.otherwise?.[check];
    if (how && 'cannot' in how) return;
    const res = await requests[check](e);
    if ('cannot' in res) return;
    try {
      if (how) return how(res);
      const message = shape(res, statusOf[check]);
      assert.ok(message.length > 0);
      if (check === 'rateLimited') assert.ok(Number(res.headers.get('retry-after')) >= 1, res.text);
    } catch (err) {
      // Several checks run in one test: the failure says which.
      if (err instanceof Error) err.message = `${check}: ${err.message}`;
      throw err;
    }
  };

  const checks = Object.keys(statusOf).filter((c) => c !== 'rateLimited') as Check[];
  for (const [door, row] of Object.entries(rows)) {
    for (const [name, e] of Object.entries(row.endpoints as Record<string, Endpoint>)) {
      it(`${door} ${name}: ${checks.join(', ')}`, async () => {
        assert.equal((await send(e.ok(w))).status, 200, 'the request the checks start from is served');
        for (const check of checks) await knock(row.shape, e, check);
      });
    }
  }

  it('mcp: a 401 names the Bearer scheme, invalid_token when a key was sent (RFC 6750)', async () => {
    const mcp: Endpoint = rows.mcp.endpoints['POST /mcp'];
    const none = await send(mcp.ok(w), null);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="agentry"/);
    assert.doesNotMatch(none.headers.get('www-authenticate') ?? '', /invalid_token/);
    const wrong = await send(mcp.ok(w), 'agk_nope');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  describe('past a rate limit', () => {
    // One frozen minute, 15 s in, for the gateway's counters: the minute cannot turn between the
    // two calls of a check, and its Retry-After is the 45 s left.
    const minute = (Math.floor(Date.now() / 60_000) + 10) * 60_000;
    let clock: { now: () => number };
    before(() => {
      clock = (s.app.services.models as unknown as { deps: { admission: { now: () => number } } }).deps
        .admission;
      clock.now = () => minute + 15_000;
      s.app.services.policies.set(
        tenantsFileSchema.parse({
          tenants: { default: { rate_limits: { requests_per_minute: 1, spans_per_minute: 1 } } },
        }),
      );
    });
    after(() => {
      clock.now = Date.now;
      s.app.services.policies.set(tenantsFileSchema.parse({}));
    });

    for (const [door, row] of Object.entries(rows)) {
      for (const [name, e] of Object.entries(row.endpoints as Record<string, Endpoint>)) {
        const how = e.otherwise?.rateLimited;
        if (how && 'cannot' in how) continue;
        const what = how ? 'answered in its protocol' : '429 with Retry-After';
        it(`${door} ${name}: ${what}`, () => knock(row.shape, e, 'rateLimited'));
        if (!e.streams) continue;
        const streamed: Endpoint = {
          ...e,
          ok: (w) => ({ ...e.ok(w), body: { ...(e.ok(w).body as object), stream: true } }),
        };
        it(`${door} ${name}, streamed: ${what}`, () => knock(row.shape, streamed, 'rateLimited'));
      }
    }
  });
});
