import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.ts';
import { principalOf } from '../../http/caller.ts';
import { clientGone } from '../../http/client-gone.ts';
import type { CallContext, CallTiming } from '../../models/types.ts';

/** Per-call overrides a client may send: the agent to bill (per-agent budgets) and a total timeout. */
const AGENT_HEADER = 'x-agentry-agent';
const TIMEOUT_HEADER = 'x-agentry-timeout-ms';

/** The gateway's call context for a request on an OpenAI-compatible route. */
export function callContext(req: FastifyRequest, reply: FastifyReply, timing: CallTiming): CallContext {
  const principal = principalOf(req);
  return {
    tenantId: principal.tenantId,
    tenantName: principal.tenantName,
    keyId: principal.keyId,
    agentName: header(req, AGENT_HEADER),
    requestId: req.id,
    traceId: req.traceId,
    parentSpanId: req.parentSpanId,
    traceState: req.traceState,
    // The client going away aborts the upstream call too.
    signal: clientGone(reply.raw),
    timing,
    ...timeoutOverride(req),
  };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^[A-Za-z0-9._-]{1,100}$/.test(s) ? s : undefined;
}

function timeoutOverride(req: FastifyRequest): Pick<CallContext, 'timeouts'> {
  const v = header(req, TIMEOUT_HEADER);
  if (v === undefined) return {};
  const ms = Number(v);
  if (!Number.isInteger(ms) || ms <= 0 || ms > 3_600_000) {
    throw new AppError('bad_request', `${TIMEOUT_HEADER} must be an integer number of ms in 1..3600000`);
  }
  return { timeouts: { total_ms: ms, first_byte_ms: ms } };
}

/** `Server-Timing`: the gateway's own overhead, apart from the upstream's time. */
export function serverTiming(t: CallTiming, started: number): string {
  const total = performance.now() - started;
  const upstream = t.upstream_ms ?? 0;
  const gateway = t.first_chunk_ms !== undefined ? (t.gateway_ms ?? 0) : total - upstream;
  return `gateway;dur=${gateway.toFixed(3)}, upstream;dur=${upstream.toFixed(3)}`;
}
