import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
import { useApiQuery } from '../../lib/query';
import { allDatasets } from '../../lib/resources';
import { gateText } from './GateEvidence';
import { LABEL, labelRule } from './label-name';
import { agentKeys } from './queries';

type Field = 'label' | 'dataset' | 'split' | 'evaluator' | 'threshold' | 'floors';

/** `says=0.5, exact_match=0.9` as the API's floors, or the problem with it. */
function parseFloors(text: string): Record<string, number> | string {
  const floors: Record<string, number> = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    if (!part) continue;
    const m = /^([^=\s]+)\s*=\s*(-?\d+(?:\.\d+)?)$/.exec(part);
    if (!m) return `"${part}" is not evaluator=number: says=0.5, exact_match=0.9.`;
    floors[m[1]!] = Number(m[2]);
  }
  return floors;
}

/** Sets a label's release gate (admins): the dataset, the score to reach, the floors per evaluator. */
export function GateForm({ id }: { id: string }) {
  const client = useQueryClient();
  const datasets = useApiQuery({ ...allDatasets(), staleTime: 30_000 });
  const [label, setLabel] = useState('production');
  const [dataset, setDataset] = useState('');
  const [split, setSplit] = useState('');
  const [evaluator, setEvaluator] = useState('');
  const [threshold, setThreshold] = useState('');
  const [floorText, setFloorText] = useState('');
  const floors = parseFloors(floorText);
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PUT('/v1/agents/{id}/labels/{label}/gate', {
          params: { path: { id, label } },
          body: {
            dataset,
            threshold: Number(threshold),
            ...(split.trim() && { split: split.trim() }),
            ...(evaluator.trim() && { evaluator: evaluator.trim() }),
            ...(typeof floors === 'object' && Object.keys(floors).length > 0 && { floors }),
          },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: agentKeys.all }),
  });
  const form = useFieldErrors<Field>({ error: save.error });
  const problems = () => {
    const p = new Map<Field, string>();
    if (!LABEL.test(label)) p.set('label', labelRule);
    if (!dataset) p.set('dataset', 'Pick the dataset the version must have been run on.');
    if (threshold.trim() === '' || !Number.isFinite(Number(threshold)))
      p.set('threshold', 'A number the score must reach: 0.8.');
    if (typeof floors === 'string') p.set('floors', floors);
    return p;
  };
  return (
    <form
      className="panel stack"
      aria-labelledby="gate-h"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (form.check(problems())) save.mutate();
      }}
    >
      <h3 id="gate-h">Set a label's gate</h3>
      <div className="field">
        <label htmlFor={form.input('label').id}>Gated label</label>
        <input {...form.bind('label', (v) => setLabel(v.trim()))} list="label-names" value={label} />
        <FieldError form={form} k="label" />
      </div>
      <div className="field">
        <label htmlFor={form.input('dataset').id}>Gate dataset</label>
        <select {...form.bind('dataset', setDataset)} value={dataset}>
          <option value="">choose…</option>
          {datasets.data?.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
        <FieldError form={form} k="dataset" />
      </div>
      <div className="field">
        <label htmlFor={form.input('split').id}>Split (optional: the whole dataset)</label>
        <input {...form.bind('split', setSplit)} value={split} />
        <FieldError form={form} k="split" />
      </div>
      <div className="field">
        <label htmlFor={form.input('evaluator').id}>Evaluator (optional: the mean of all)</label>
        <input {...form.bind('evaluator', setEvaluator)} value={evaluator} placeholder="exact_match" />
        <FieldError form={form} k="evaluator" />
      </div>
      <div className="field">
        <label htmlFor={form.input('threshold').id}>Threshold</label>
        <input {...form.bind('threshold', setThreshold)} inputMode="decimal" value={threshold} />
        <FieldError form={form} k="threshold" />
      </div>
      <div className="field">
        <label htmlFor={form.input('floors').id}>Floors (optional)</label>
        <input
          {...form.bind('floors', setFloorText)}
          value={floorText}
          placeholder="says=0.5, exact_match=0.9"
        />
        <FieldError form={form} k="floors" />
      </div>
      <div>
        <BusyButton type="submit" busy={save.isPending} busyReason="Setting the gate…">
          Set gate
        </BusyButton>
      </div>
      <FormProblems form={form} before="before setting the gate" />
      <ErrorNote error={form.unplaced(save.error)} />
      {save.data?.gate ? (
        <p role="status" className="ok-note">
          {save.data.label} is gated: {gateText(save.data.gate)}.
        </p>
      ) : null}
    </form>
  );
}
