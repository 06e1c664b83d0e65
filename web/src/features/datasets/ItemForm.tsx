import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
import { pretty } from '../../lib/format';
import { commaList, parseJson } from '../../lib/text-fields';
import { type DatasetItem, datasetKeys } from './queries';

type Field = 'message' | 'task_type' | 'payload' | 'expected' | 'tags' | 'metadata';
type Item = Pick<DatasetItem, 'input' | 'expected' | 'tags' | 'metadata'>;

const BLANK: Item = { input: { message: '' }, expected: null, tags: [], metadata: {} };

/**
 * An API path's field: `input.message` is the message field, and the add route's
 * `items.0.input.message` the same one; other paths (`tags.0`) land on their field by prefix.
 */
const fieldOf = (path: string): Field | undefined => {
  const p = path.replace(/^items\.\d+\./, '');
  if (p.startsWith('input.')) return p.slice('input.'.length).split('.')[0] as Field;
  if (p === 'input') return undefined;
  return p.split('.')[0] as Field;
};

/**
 * One item's fields: its input (a message, or a task type and its JSON payload), the expected output
 * (text, or JSON when ticked), tags and JSON metadata. Without `item` it adds a new item; with one it
 * saves the fields as a PATCH. Either makes a new version of the dataset.
 */
export function ItemForm({
  datasetId,
  item,
  onDone,
}: {
  datasetId: string;
  item?: DatasetItem;
  onDone: () => void;
}) {
  const client = useQueryClient();
  const start = item ?? BLANK;
  const task = 'task_type' in start.input ? start.input : undefined;
  const [kind, setKind] = useState<'message' | 'task'>(task ? 'task' : 'message');
  const [message, setMessage] = useState('message' in start.input ? start.input.message : '');
  const [taskType, setTaskType] = useState(task?.task_type ?? '');
  const [payload, setPayload] = useState(task?.payload === undefined ? '{}' : pretty(task.payload));
  const noExpected = start.expected === null || start.expected === undefined;
  const [asJson, setAsJson] = useState(!noExpected && typeof start.expected !== 'string');
  const [expected, setExpected] = useState(noExpected ? '' : pretty(start.expected));
  const [tags, setTags] = useState(start.tags.join(', '));
  const [metadata, setMetadata] = useState(Object.keys(start.metadata).length ? pretty(start.metadata) : '');

  const parsedPayload = kind === 'task' ? parseJson(payload) : { value: undefined };
  const parsedExpected = asJson && expected.trim() ? parseJson(expected) : { value: expected || null };
  const parsedMetadata = metadata.trim() ? parseJson(metadata) : { value: {} };
  const live = new Map<Field, string>();
  if ('problem' in parsedPayload) live.set('payload', parsedPayload.problem);
  if ('problem' in parsedExpected) live.set('expected', parsedExpected.problem);
  if ('problem' in parsedMetadata) live.set('metadata', parsedMetadata.problem);
  else if (
    typeof parsedMetadata.value !== 'object' ||
    parsedMetadata.value === null ||
    Array.isArray(parsedMetadata.value)
  )
    live.set('metadata', 'Metadata is a JSON object: {"key": "value"}.');

  const body = () => {
    const value = (p: { value: unknown } | { problem: string }) => ('value' in p ? p.value : undefined);
    return {
      input: kind === 'message' ? { message } : { task_type: taskType, payload: value(parsedPayload) },
      expected: value(parsedExpected),
      tags: commaList(tags),
      metadata: value(parsedMetadata) as Record<string, unknown>,
    };
  };
  const save = useMutation({
    mutationFn: async () => {
      if (item)
        return unwrap(
          await api.PATCH('/v1/datasets/{id}/items/{item_id}', {
            params: { path: { id: datasetId, item_id: item.id } },
            body: body(),
          }),
        );
      return unwrap(
        await api.POST('/v1/datasets/{id}/items', {
          params: { path: { id: datasetId } },
          body: { items: [body()] },
        }),
      );
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: datasetKeys.all });
      onDone();
    },
  });
  const form = useFieldErrors<Field>({ live, fieldOf, error: save.error });
  const own = (k: Field, set: (v: string) => void) => form.bind(k, set);
  const what = item ? 'Edit item' : 'New item';

  return (
    <form
      className="panel item-form"
      aria-label={what}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const problems = new Map<Field, string>();
        if (kind === 'message' && !message.trim()) problems.set('message', 'Write the input message.');
        if (kind === 'task' && !taskType.trim()) problems.set('task_type', 'Name the task type.');
        if (form.check(problems)) save.mutate();
      }}
    >
      <h3>{what}</h3>
      <label>
        Input kind{' '}
        <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
          <option value="message">A message</option>
          <option value="task">A task (type and payload)</option>
        </select>
      </label>
      {kind === 'message' ? (
        <div className="field">
          <label htmlFor={form.input('message').id}>Input message</label>
          <textarea {...own('message', setMessage)} rows={3} value={message} />
          <FieldError form={form} k="message" />
        </div>
      ) : (
        <>
          <div className="field">
            <label htmlFor={form.input('task_type').id}>Task type</label>
            <input {...own('task_type', setTaskType)} value={taskType} />
            <FieldError form={form} k="task_type" />
          </div>
          <div className="field">
            <label htmlFor={form.input('payload').id}>Payload (JSON)</label>
            <textarea {...own('payload', setPayload)} rows={3} value={payload} className="mono" />
            <FieldError form={form} k="payload" />
          </div>
        </>
      )}
      <div className="field">
        <label htmlFor={form.input('expected').id}>Expected output</label>
        <textarea {...own('expected', setExpected)} rows={3} value={expected} />
        <FieldError form={form} k="expected" />
        <label className="small">
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
        <input {...own('tags', setTags)} value={tags} />
        <FieldError form={form} k="tags" />
      </div>
      <div className="field">
        <label htmlFor={form.input('metadata').id}>Metadata (a JSON object)</label>
        <textarea {...own('metadata', setMetadata)} rows={2} value={metadata} className="mono" />
        <FieldError form={form} k="metadata" />
      </div>
      <div className="actions">
        <BusyButton type="submit" busy={save.isPending} busyReason="Saving the item…">
          {item ? 'Save item' : 'Add item'}
        </BusyButton>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
      <FormProblems form={form} before={item ? 'before saving' : 'before adding it'} />
      <ErrorNote error={form.unplaced(save.error)} />
    </form>
  );
}
