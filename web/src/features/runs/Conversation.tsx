import { count, pretty } from '../../lib/format';
import { KeptTurns } from './KeptTurns';
import type { Trace } from './queries';

type Span = Trace['spans'][number];

interface ModelInput {
  system?: string;
  earlier?: number;
}
interface ModelOutput {
  content?: string | null;
}

const text = (v: unknown) => (typeof v === 'string' ? v : pretty(v));

/**
 * The run as a conversation, read from its trace: the system prompt its first model call was
 * given, the user's message, then each model turn's answer with the tools it called, their
 * arguments and results. Each turn and tool call opens its step in the waterfall.
 */
export function Conversation({ trace, onPick }: { trace: Trace; onPick: (id: string) => void }) {
  const { run, spans } = trace;
  const models = spans.filter((s) => s.kind === 'model');
  const opening = (models[0]?.input ?? {}) as ModelInput;
  const toolsOf = (model: Span) => spans.filter((s) => s.parent_id === model.id && s.kind === 'tool');
  return (
    <ol className="conversation" aria-label="Conversation">
      {opening.system ? (
        <li className="turn system">
          <details>
            <summary>System prompt</summary>
            <p className="prewrap">{opening.system}</p>
          </details>
        </li>
      ) : null}
      {opening.earlier ? (
        <li className="turn note muted small">
          {count(opening.earlier, 'earlier message')} of this session came before
        </li>
      ) : null}
      <li className="turn user">
        <span className="who">User</span>
        <p className="prewrap">{run.input}</p>
      </li>
      {run.parent_run_id && run.forked_from_step ? (
        <KeptTurns
          runId={run.id}
          sessionId={run.session_id}
          parentId={run.parent_run_id}
          step={run.forked_from_step}
        />
      ) : null}
      {models.map((m) => {
        const out = (m.output ?? {}) as ModelOutput;
        const tools = toolsOf(m);
        return (
          <li key={m.id} className={`turn assistant${m.status === 'error' ? ' failed' : ''}`}>
            <span className="who">
              Assistant <span className="muted small">· {m.name}</span>{' '}
              <button type="button" className="link" onClick={() => onPick(m.id)}>
                step
              </button>
            </span>
            {m.error ? <p className="error-text">{m.error}</p> : null}
            {out.content ? <p className="prewrap">{out.content}</p> : null}
            {tools.map((t) => (
              <div key={t.id} className={`tool-call${t.status === 'error' ? ' failed' : ''}`}>
                <p>
                  Called <strong>{t.name}</strong>{' '}
                  <button type="button" className="link" onClick={() => onPick(t.id)}>
                    step
                  </button>
                </p>
                <p className="muted small">Arguments</p>
                <pre className="prewrap">{text(t.input)}</pre>
                <p className="muted small">{t.status === 'error' ? 'Error' : 'Result'}</p>
                <pre className={`prewrap${t.status === 'error' ? ' error-text' : ''}`}>
                  {t.status === 'error' ? (t.error ?? '') : text(t.output)}
                </pre>
              </div>
            ))}
            {!out.content && tools.length === 0 && !m.error ? (
              <p className="muted">{m.status === 'running' ? 'Answering…' : 'No text'}</p>
            ) : null}
          </li>
        );
      })}
      {models.length === 0 && run.output ? (
        <li className="turn assistant">
          <span className="who">Assistant</span>
          <p className="prewrap">{run.output}</p>
        </li>
      ) : null}
    </ol>
  );
}
