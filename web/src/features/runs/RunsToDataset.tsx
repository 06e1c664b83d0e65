import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { BusyButton } from '../../components/BusyButton';
import { api } from '../../lib/api';
import { num } from '../../lib/format';
import { resourceKey, useApiQuery } from '../../lib/query';
import { allDatasets } from '../../lib/resources';

/**
 * The runs chosen in the list as items of a dataset, in one go: each run's input, and its output as
 * the expected answer. Runs are added one after another (the API's `items/from-run`); one that
 * fails is named with its reason and the others still go in.
 */
export function RunsToDataset({ runIds, onDone }: { runIds: string[]; onDone: () => void }) {
  const client = useQueryClient();
  const datasets = useApiQuery({ ...allDatasets(), staleTime: 10_000 });
  const [dataset, setDataset] = useState('');
  const [problem, setProblem] = useState('');
  const add = useMutation({
    mutationFn: async () => {
      const failed: string[] = [];
      for (const run_id of runIds) {
        const res = await api.POST('/v1/datasets/{id}/items/from-run', {
          params: { path: { id: dataset } },
          body: { run_id, output_as_expected: true },
        });
        if (res.error) failed.push(`${run_id.slice(-8)}: ${res.error.error.message}`);
      }
      return { added: runIds.length - failed.length, failed };
    },
    // The choice stays, with what happened below it, until cleared.
    onSuccess: () => void client.invalidateQueries({ queryKey: resourceKey('datasets') }),
  });
  const name = datasets.data?.find((d) => d.id === dataset)?.name;
  return (
    <form
      className="filters bulk-bar"
      aria-label="Add the chosen runs to a dataset"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setProblem(dataset ? '' : 'Choose a dataset.');
        if (dataset) add.mutate();
      }}
    >
      <strong>
        {num(runIds.length)} {runIds.length === 1 ? 'run' : 'runs'} chosen
      </strong>
      <label>
        Dataset
        <select
          value={dataset}
          onChange={(e) => {
            setDataset(e.target.value);
            setProblem('');
          }}
          aria-invalid={Boolean(problem)}
          aria-describedby={problem ? 'bulk-dataset-error' : undefined}
        >
          <option value="">choose…</option>
          {datasets.data?.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
      </label>
      <BusyButton type="submit" busy={add.isPending} busyReason="Adding the runs…">
        Add to dataset
      </BusyButton>
      <button type="button" className="secondary" onClick={onDone}>
        Clear choice
      </button>
      {problem ? (
        <p id="bulk-dataset-error" className="field-error">
          {problem}
        </p>
      ) : null}
      <div role="status" className="small">
        {add.data
          ? `${num(add.data.added)} added to ${name ?? 'the dataset'}${add.data.failed.length ? `; not added: ${add.data.failed.join('; ')}` : ''}.`
          : null}
      </div>
    </form>
  );
}
