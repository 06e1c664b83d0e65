import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
import { pretty } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { commaList, parseJson } from '../../lib/text-fields';
import { queueChoices, type Review } from './queries';

/** The corrected expected output's field, which the reviewer page's `d` key focuses. */
export const focusCorrected = () =>
  document.querySelector<HTMLTextAreaElement>('textarea[data-corrected]')?.focus();

/**
 * The item's run copied into a dataset (the queue's, or one picked) with the expected output as the
 * reviewer corrects it: prefilled with the experiment's expected output, else the run's output.
 * Ctrl+Enter in its fields adds it; Esc leaves the field for the page's keys.
 */
export function ToDataset({
  queueId,
  queueDataset,
  review,
}: {
  queueId: string;
  queueDataset: string | null;
  review: Review;
}) {
  const choices = useApiQuery(queueChoices());
  const start = review.expected ?? review.output;
  // The queue's dataset until one is picked (the queue may load after the item).
  const [picked, setDataset] = useState<string | null>(null);
  const dataset = picked ?? queueDataset ?? '';
  const [expected, setExpected] = useState(start === null || start === undefined ? '' : pretty(start));
  const [tags, setTags] = useState('');
  // An expected output that is not text (an object, a number) is corrected as JSON, and sent as such.
  const [asJson, setAsJson] = useState(start !== null && start !== undefined && typeof start !== 'string');
  const parsed = asJson ? parseJson(expected) : { value: expected as unknown };
  const add = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/annotation-queues/{id}/items/{item_id}/dataset', {
          params: { path: { id: queueId, item_id: review.item.id } },
          body: {
            ...(dataset && { dataset }),
            expected: 'value' in parsed ? parsed.value : undefined,
            ...(tags.trim() && { tags: commaList(tags) }),
          },
        }),
      ),
  });
  const form = useFieldErrors({
    error: add.error,
    live: new Map('problem' in parsed ? [['expected', parsed.problem]] : []),
  });
  const submit = () => {
    const problems = new Map<string, string>();
    if (!dataset) problems.set('dataset', 'Pick the dataset to add it to.');
    if (form.check(problems)) add.mutate();
  };
  const made = add.data ?? null;
  const added = made ? choices.data?.datasets.find((d) => d.id === made.dataset_id) : undefined;
  return (
    <form
      className="panel"
      aria-label="Add to a dataset"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onKeyDown={(e) => {
        // Ctrl+Enter from any of its fields adds it (Enter is a new line in the correction).
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          submit();
        }
      }}
    >
      <h2>Add to a dataset</h2>
      {review.item.dataset_item_id ? (
        <p className="muted">This item was added to a dataset already; adding it again makes another item.</p>
      ) : null}
      <div className="field">
        <label htmlFor={form.input('dataset').id}>Dataset</label>
        <select {...form.bind('dataset', setDataset)} value={dataset}>
          <option value="">Pick a dataset</option>
          {choices.data?.datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
        <FieldError form={form} k="dataset" />
      </div>
      <div className="field">
        <label htmlFor={form.input('expected').id}>Corrected expected output</label>
        <textarea
          {...form.input('expected')}
          data-corrected
          rows={3}
          value={expected}
          onChange={(e) => {
            setExpected(e.target.value);
            form.changed('expected');
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') e.currentTarget.blur();
          }}
        />
        <FieldError form={form} k="expected" />
        <label className="check">
          <input
            type="checkbox"
            checked={asJson}
            onChange={(e) => {
              setAsJson(e.target.checked);
              form.changed('expected');
            }}
          />{' '}
          The expected output is JSON
        </label>
      </div>
      <div className="field">
        <label htmlFor={form.input('tags').id}>Tags (comma-separated)</label>
        <input {...form.bind('tags', setTags)} value={tags} />
        <FieldError form={form} k="tags" />
      </div>
      <BusyButton
        type="submit"
        className="secondary"
        busy={add.isPending}
        busyReason="Adding to the dataset…"
      >
        Add to dataset
      </BusyButton>
      <FormProblems form={form} before="before adding it" />
      <ErrorNote error={form.unplaced(add.error)} />
      {made ? (
        <p role="status">
          Added to <Link to={`/datasets/${made.dataset_id}`}>{added?.name ?? 'the dataset'}</Link> with this
          expected output.
        </p>
      ) : null}
    </form>
  );
}
