import { Link } from 'react-router';
import { pretty } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { runDetail, sessionMessages } from '../../lib/resources';
import type { Message } from '../../lib/types';

interface Call {
  id?: string;
  name?: string;
  arguments?: unknown;
  function?: { name?: string; arguments?: unknown };
}

const text = (v: unknown) => (typeof v === 'string' ? v : pretty(v));

/**
 * What a fork kept of its parent: the turns before the fork point, as the fork's own session holds
 * them (a tool result replaced at the fork shows as replaced). They were not run again; the
 * conversation's turns after them are the fork's own. Read from the fork's session: its messages
 * of this run after the user's, up to the parent's model steps before the fork point.
 */
export function KeptTurns({
  runId,
  sessionId,
  parentId,
  step,
}: {
  runId: string;
  sessionId: string;
  parentId: string;
  step: number;
}) {
  const parent = useApiQuery(runDetail(parentId));
  const messages = useApiQuery(sessionMessages(sessionId));
  if (!parent.data || !messages.data) return null;
  const answers = parent.data.steps.filter((s) => s.kind === 'model' && s.idx < step).length;
  const own = messages.data.filter((m) => m.run_id === runId).slice(1);
  const kept: Message[] = [];
  let seen = 0;
  for (const m of own) {
    if (m.role === 'assistant' && seen++ === answers) break;
    kept.push(m);
  }
  const results = new Map(kept.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, m.content]));
  return (
    <li className="turn note kept" aria-label="Kept from the parent run">
      <p className="muted small">
        Kept from run <Link to={`/runs/${parentId}`}>{parentId.slice(-8)}</Link>, steps 0 to {step - 1}, as
        recorded: not run again.
      </p>
      {kept
        .filter((m) => m.role === 'assistant')
        .map((m) => (
          <div key={m.seq}>
            {m.content ? <p className="prewrap">{m.content}</p> : null}
            {((m.tool_calls ?? []) as Call[]).map((c, i) => (
              <div key={c.id ?? i} className="tool-call">
                <p>
                  Called <strong>{c.function?.name ?? c.name}</strong>
                </p>
                <p className="muted small">Arguments</p>
                <pre className="prewrap">{text(c.function?.arguments ?? c.arguments)}</pre>
                <p className="muted small">Result</p>
                <pre className="prewrap">{c.id ? (results.get(c.id) ?? '—') : '—'}</pre>
              </div>
            ))}
          </div>
        ))}
    </li>
  );
}
