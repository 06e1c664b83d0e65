import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { Code } from '../../components/Code';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { LoadError } from '../../components/NotFound';
import { api, unwrap } from '../../lib/api';
import { pretty } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { type Next, queueDetail, queueKeys, type Review, type ScoreConfig } from './queries';
import { focusCorrected, ToDataset } from './ToDataset';

type Value = number | string | boolean;

/** A key's value for a config: boolean 1/0, a category by its place, a 0–9 integer scale by the digit itself. */
interface Choice {
  key: string;
  value: Value;
  label: string;
}

function choicesOf(c: ScoreConfig): Choice[] | null {
  if (c.kind === 'boolean')
    return [
      { key: '1', value: true, label: 'true' },
      { key: '0', value: false, label: 'false' },
    ];
  if (c.kind === 'categorical')
    return (c.categories ?? [])
      .slice(0, 9)
      .map((x, i) => ({ key: String(i + 1), value: x.label, label: x.label }));
  const { min, max } = c;
  if (min !== null && max !== null && Number.isInteger(min) && Number.isInteger(max) && min >= 0 && max <= 9)
    return Array.from({ length: max - min + 1 }, (_, i) => ({
      key: String(min + i),
      value: min + i,
      label: String(min + i),
    }));
  return null;
}

/** Keys typed in a field are the field's: the page's shortcuts wait until focus leaves it. */
const typing = (t: EventTarget | null) =>
  t instanceof HTMLElement && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');

/**
 * One item of a queue on screen, keyboard first: the digit keys score the highlighted config (then
 * the next one), Enter submits, s skips, n or j asks for the next item. After a submit or a skip the
 * next item is claimed at once.
 */
export function Reviewer() {
  const { id = '' } = useParams();
  const client = useQueryClient();
  const queue = useApiQuery(queueDetail(id));
  const [next, setNext] = useState<Next | null>(null);
  const [values, setValues] = useState<Record<string, Value>>({});
  const [active, setActive] = useState(0);
  const [comment, setComment] = useState('');
  const [done, setDone] = useState(0);

  const review: Review | null = next?.review ?? null;
  const configs = queue.data?.score_configs ?? [];

  const claim = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST('/v1/annotation-queues/{id}/next', { params: { path: { id } } })),
    onSuccess: (n) => {
      setNext(n);
      setValues({});
      setActive(0);
      setComment('');
      void client.invalidateQueries({ queryKey: queueKeys.all });
    },
  });
  const submit = useMutation({
    mutationFn: async (r: Review) =>
      unwrap(
        await api.POST('/v1/annotation-queues/{id}/items/{item_id}/submit', {
          params: { path: { id, item_id: r.item.id } },
          body: {
            scores: configs.map((c) => ({ config: c.id, value: values[c.id]! })),
            ...(comment.trim() && { comment: comment.trim() }),
          },
        }),
      ),
    onSuccess: () => {
      setDone((d) => d + 1);
      claim.mutate();
    },
  });
  const skip = useMutation({
    mutationFn: async (r: Review) =>
      unwrap(
        await api.POST('/v1/annotation-queues/{id}/items/{item_id}/skip', {
          params: { path: { id, item_id: r.item.id } },
        }),
      ),
    onSuccess: () => claim.mutate(),
  });

  // The first item is claimed when the page opens.
  const claimed = useRef(false);
  useEffect(() => {
    if (claimed.current || !id) return;
    claimed.current = true;
    claim.mutate();
  }, [id, claim]);

  const complete = configs.length > 0 && configs.every((c) => values[c.id] !== undefined);
  const busy = claim.isPending || submit.isPending || skip.isPending;

  const choose = (index: number, value: Value) => {
    const c = configs[index];
    if (!c) return;
    setValues((v) => ({ ...v, [c.id]: value }));
    setActive(Math.min(index + 1, configs.length - 1));
  };

  // The page's keys, read fresh on each press (the handler is set again when what it reads changes).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || busy) return;
      // Enter on a focused button is that button's.
      if (e.key === 'Enter' && e.target instanceof HTMLButtonElement) return;
      if (e.key === 'n' || e.key === 'j') {
        e.preventDefault();
        claim.mutate();
        return;
      }
      if (!review) return;
      if (e.key === 'd') {
        e.preventDefault();
        focusCorrected();
      } else if (e.key === 's') {
        e.preventDefault();
        skip.mutate(review);
      } else if (e.key === 'Enter') {
        if (!complete) return;
        e.preventDefault();
        submit.mutate(review);
      } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setActive((a) => Math.max(0, Math.min(configs.length - 1, a + (e.key === 'ArrowDown' ? 1 : -1))));
      } else {
        const config = configs[active];
        const choice = config && choicesOf(config)?.find((x) => x.key === e.key);
        if (choice) {
          e.preventDefault();
          choose(active, choice.value);
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  if (queue.error)
    return (
      <LoadError error={queue.error} what="annotation queue" back={{ to: '/review', label: 'Review' }} />
    );
  const counts = next?.counts ?? queue.data?.counts;
  return (
    <section className="reviewer">
      <p className="crumbs">
        <Link to="/review">Review</Link>
      </p>
      <div className="page-head">
        <h1>{queue.data?.name ?? 'Annotation queue'}</h1>
      </div>
      {counts ? (
        <p className="muted" aria-live="polite">
          {counts.pending} pending · {counts.claimed} claimed · {counts.done} done · {counts.skipped} skipped
          · {done} by you here
        </p>
      ) : null}
      <p className="muted keys">
        Keys: <kbd>1</kbd>–<kbd>9</kbd> score, <kbd>↑</kbd>/<kbd>↓</kbd> move between scores, <kbd>Enter</kbd>{' '}
        submits, <kbd>s</kbd> skips, <kbd>n</kbd>/<kbd>j</kbd> next, <kbd>d</kbd> corrects the expected output
        for a dataset (<kbd>Ctrl</kbd>+<kbd>Enter</kbd> adds it, <kbd>Esc</kbd> leaves the field).
      </p>
      <ErrorNote error={claim.error ?? submit.error ?? skip.error} />
      {next && !review ? (
        <EmptyState title="Nothing left to review">
          <p>Every item of this queue is done, skipped or claimed by someone else. Press n to look again.</p>
        </EmptyState>
      ) : null}
      {review ? (
        <article aria-label="Item under review" data-item={review.item.id}>
          <p className="muted">
            Run <Link to={`/runs/${review.item.run_id}`}>{review.item.run_id.slice(-8)}</Link> of{' '}
            {review.agent_name ?? review.agent_id}
            {review.agent_version ? ` v${review.agent_version}` : ''} · {review.run_status}
          </p>
          <Code label="Input">{review.input}</Code>
          <Code label="Output">{review.output ?? '(no output)'}</Code>
          {review.expected !== null && review.expected !== undefined ? (
            <Code label="Expected">{pretty(review.expected)}</Code>
          ) : null}
          {review.scores.length > 0 ? (
            <p className="muted">
              Earlier scores:{' '}
              {review.scores.map((s) => `${s.name} ${s.label ?? s.value} (${s.source})`).join(', ')}
            </p>
          ) : null}
          <div className="score-rows">
            {configs.map((c, i) => (
              <ScoreRow
                key={c.id}
                config={c}
                active={i === active}
                value={values[c.id]}
                onChoose={(v) => choose(i, v)}
              />
            ))}
          </div>
          <div className="field">
            <label htmlFor="review-comment">Comment</label>
            <textarea
              id="review-comment"
              rows={2}
              value={comment}
              onChange={(e) => setComment(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') e.currentTarget.blur();
              }}
            />
          </div>
          <div className="actions">
            <BusyButton
              busy={submit.isPending}
              busyReason="Submitting…"
              disabledReason={complete ? undefined : 'Score every config first'}
              onClick={() => submit.mutate(review)}
            >
              Submit
            </BusyButton>
            <BusyButton
              className="secondary"
              busy={skip.isPending}
              busyReason="Skipping…"
              onClick={() => skip.mutate(review)}
            >
              Skip
            </BusyButton>
          </div>
          <ToDataset
            key={review.item.id}
            queueId={id}
            queueDataset={queue.data?.dataset_id ?? null}
            review={review}
          />
        </article>
      ) : null}
    </section>
  );
}

function ScoreRow({
  config,
  active,
  value,
  onChoose,
}: {
  config: ScoreConfig;
  active: boolean;
  value: Value | undefined;
  onChoose: (v: Value) => void;
}) {
  const choices = choicesOf(config);
  return (
    <fieldset className={`score-row${active ? ' active' : ''}`} aria-current={active || undefined}>
      <legend>
        {config.name}
        {config.description ? <span className="muted"> · {config.description}</span> : null}
      </legend>
      {choices ? (
        <div className="choices">
          {choices.map((c) => (
            <button
              type="button"
              key={c.key}
              className="secondary"
              aria-pressed={value === c.value}
              onClick={() => onChoose(c.value)}
            >
              <kbd>{c.key}</kbd> {c.label}
            </button>
          ))}
        </div>
      ) : (
        <input
          type="number"
          aria-label={config.name}
          min={config.min ?? undefined}
          max={config.max ?? undefined}
          value={typeof value === 'number' ? value : ''}
          onChange={(e) => e.target.value !== '' && onChoose(Number(e.target.value))}
        />
      )}
    </fieldset>
  );
}
