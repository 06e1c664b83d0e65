import { Code } from '../../components/Code';
import { StatusBadge } from '../../components/StatusBadge';
import { duration, num, pretty, usd, when } from '../../lib/format';
import type { Trace } from './queries';

type Span = Trace['spans'][number];

/** What a span's kind is called on screen; kinds not listed show as they come. */
const KIND_LABELS: Record<string, string> = {
  retrieval: 'knowledge retrieval',
  approval: 'approval wait',
  handoff: 'handoff',
};
export const kindLabel = (kind: string) => KIND_LABELS[kind] ?? kind;

const shown = (v: unknown) => (v === undefined || v === null ? '—' : pretty(v));

/**
 * One step: its facts, then what it did as a reader wants it (a model call's answer and the tools
 * it asked for, a tool's arguments and result); the raw input and output one click away.
 */
export function StepDetail({ span: s }: { span: Span }) {
  const answer = s.kind === 'model' ? (s.output as { content?: string | null } | null)?.content : undefined;
  const calls =
    s.kind === 'model'
      ? ((
          s.output as {
            tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }>;
          } | null
        )?.tool_calls ?? [])
      : [];
  return (
    <section aria-label="Step detail" className="panel">
      <h2>
        {kindLabel(s.kind)}: {s.name} <StatusBadge status={s.status} />
      </h2>
      <dl className="facts">
        <dt>Started</dt>
        <dd>{when(s.started_at)}</dd>
        <dt>Duration</dt>
        <dd>{duration(s.duration_ms)}</dd>
        {s.model ? (
          <>
            <dt>Model</dt>
            <dd>{s.model}</dd>
          </>
        ) : null}
        {s.usage ? (
          <>
            <dt>Tokens</dt>
            <dd>
              {num(s.usage.prompt_tokens)} in · {num(s.usage.completion_tokens)} out
            </dd>
          </>
        ) : null}
        {s.cost_usd !== null ? (
          <>
            <dt>Cost</dt>
            <dd>{usd(s.cost_usd)}</dd>
          </>
        ) : null}
      </dl>
      {s.error ? (
        <>
          <h3>Error</h3>
          <Code label="Error" className="error-text">
            {s.error}
          </Code>
        </>
      ) : null}
      {s.kind === 'model' ? (
        <>
          <h3>Answer</h3>
          {answer ? <p className="prewrap">{answer}</p> : <p className="muted">No text</p>}
          {calls.length > 0 ? (
            <>
              <h3>Tools asked for</h3>
              <ul>
                {calls.map((c) => (
                  <li key={c.id ?? c.function?.name}>
                    <strong>{c.function?.name}</strong>{' '}
                    <code className="prewrap">{c.function?.arguments ?? ''}</code>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          <details>
            <summary>Raw input and output</summary>
            <Code label="Input">{shown(s.input)}</Code>
            <Code label="Output">{shown(s.output)}</Code>
          </details>
        </>
      ) : (
        <>
          <h3>{s.kind === 'tool' ? 'Arguments' : 'Input'}</h3>
          <Code label="Input">{shown(s.input)}</Code>
          <h3>{s.kind === 'tool' ? 'Result' : 'Output'}</h3>
          <Code label="Output">{shown(s.output)}</Code>
        </>
      )}
    </section>
  );
}
