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

/** A tool call as a step records it (`{name, arguments}`), or in the OpenAI wire shape some older steps kept. */
type ToolCall = {
  id?: string;
  name?: string;
  arguments?: unknown;
  function?: { name?: string; arguments?: unknown };
};

/** Text that holds a JSON object or array, formatted; anything else as it is. */
export function jsonOrText(v: unknown): { json: boolean; text: string } {
  if (typeof v !== 'string') return { json: true, text: JSON.stringify(v ?? null, null, 2) };
  const t = v.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return { json: true, text: JSON.stringify(JSON.parse(t), null, 2) };
    } catch {
      // Not JSON after all (a sentence in brackets): shown as written.
    }
  }
  return { json: false, text: v };
}

/**
 * One step: its facts, then what it did as a reader wants it (a model call's answer and the tools
 * it asked for, a tool's arguments and result); the raw input and output one click away.
 */
export function StepDetail({ span: s, version }: { span: Span; version?: number | null }) {
  const content = s.kind === 'model' ? (s.output as { content?: string | null } | null)?.content : undefined;
  const answer = content ? jsonOrText(content) : undefined;
  const calls =
    s.kind === 'model' ? ((s.output as { tool_calls?: ToolCall[] } | null)?.tool_calls ?? []) : [];
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
        {version != null ? (
          <>
            <dt>Agent version</dt>
            <dd>v{version}</dd>
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
          {answer === undefined ? (
            <p className="muted">No text</p>
          ) : answer.json ? (
            <Code label="Answer">{answer.text}</Code>
          ) : (
            <p className="prewrap">{answer.text}</p>
          )}
          {calls.length > 0 ? (
            <>
              <h3>Tools asked for</h3>
              <ul>
                {calls.map((c, i) => {
                  const name = c.name ?? c.function?.name ?? 'unnamed tool';
                  const args = c.arguments ?? c.function?.arguments;
                  return (
                    <li key={c.id ?? `${name}-${i}`}>
                      <strong>{name}</strong>{' '}
                      <code className="prewrap">{args === undefined ? '' : jsonOrText(args).text}</code>
                    </li>
                  );
                })}
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
