import { useState } from 'react';

/** A component's status; `off` is turned off or not configured: neither healthy nor a fault. */
type Status = 'ok' | 'degraded' | 'down' | 'off';
export interface Component {
  status: Status;
  latency_ms: number;
  detail?: Record<string, unknown>;
  error?: string;
}

const colour: Record<Status, 'green' | 'amber' | 'red' | 'grey'> = {
  ok: 'green',
  degraded: 'amber',
  down: 'red',
  off: 'grey',
};

/** A round light, with its word beside it: colour is never the only signal. */
export function Light({ status }: { status: Status }) {
  return <span className={`light light-${colour[status]}`} aria-hidden="true" />;
}

/**
 * One component's light: its detail opens on hover (title) and on click or Enter (a disclosure that
 * stays open, for touch screens and keyboards).
 */
export function ComponentHealth({ name, c }: { name: string; c: Component }) {
  const [open, setOpen] = useState(false);
  const summary = `${name}: ${colour[c.status]} (${c.status}, ${Math.round(c.latency_ms)} ms)`;
  const detail = [c.error, ...Object.entries(c.detail ?? {}).map(([k, v]) => `${k}: ${show(v)}`)].filter(
    Boolean,
  );
  return (
    <li className="component">
      <button
        type="button"
        className="secondary component-head"
        aria-expanded={open}
        title={detail.join('\n') || summary}
        onClick={() => setOpen(!open)}
      >
        <Light status={c.status} /> <span className="component-name">{name}</span>{' '}
        <span className="muted">
          {colour[c.status]}
          {hint(c) ? ` · ${hint(c)}` : ''}
        </span>
      </button>
      {open ? (
        <dl className="component-detail">
          <div>
            <dt>Status</dt>
            <dd>
              {c.status}, answered in {Math.round(c.latency_ms)} ms
            </dd>
          </div>
          {c.error ? (
            <div>
              <dt>Error</dt>
              <dd>{c.error}</dd>
            </div>
          ) : null}
          {Object.entries(c.detail ?? {}).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>
                <code>{show(v)}</code>
              </dd>
            </div>
          ))}
        </dl>
      ) : null}
    </li>
  );
}

/**
 * Why a component is not ok, in a few words beside its light: a provider's breaker (`model:<name>`),
 * an MCP server's open tool breakers (`mcp:<server>`), the queue's stranded tasks.
 */
function hint(c: Component): string | undefined {
  if (c.status === 'ok') return undefined;
  const d = c.detail ?? {};
  if (c.status === 'off' && typeof d.reason === 'string') return d.reason;
  if (typeof d.breaker === 'string' && d.breaker !== 'closed')
    return `breaker ${d.breaker.replace('_', '-')}`;
  if (Array.isArray(d.open_breakers) && d.open_breakers.length > 0)
    return `${d.open_breakers.length} tool breaker(s) open`;
  if (typeof d.reason === 'string') return d.reason;
  return c.error;
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
