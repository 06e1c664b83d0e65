import { duration } from '../../lib/format';
import type { ToolCard } from './transcript';

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

/** One tool call: its arguments, its result or error, how long it took, and the approval state (the prompt is one for the whole run). */
export function ToolCardView({ card }: { card: ToolCard }) {
  const done = card.output !== undefined || card.error !== undefined;
  return (
    <article className={`tool-card${card.error ? ' failed' : ''}`} aria-label={`Tool call ${card.name}`}>
      <header>
        <strong>🔧 {card.name}</strong>
        <span className="muted small">
          {card.durationMs !== undefined
            ? duration(card.durationMs)
            : done
              ? ''
              : card.approval === 'waiting'
                ? 'waiting for approval'
                : 'running…'}
          {card.approval === 'approved' ? ' · approved' : card.approval === 'denied' ? ' · denied' : ''}
        </span>
      </header>
      <details open={!done}>
        <summary>Arguments</summary>
        <pre>{show(card.arguments)}</pre>
      </details>
      {card.output !== undefined ? (
        <details open>
          <summary>Result</summary>
          <pre>{show(card.output)}</pre>
        </details>
      ) : null}
      {card.error !== undefined ? <p className="field-error">Error: {card.error}</p> : null}
    </article>
  );
}
