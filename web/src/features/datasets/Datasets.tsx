import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Route, Routes, useNavigate } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { TableWrap } from '../../components/Code';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { NotFound, WithId } from '../../components/NotFound';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { num, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { DatasetView } from './DatasetView';
import { datasetKeys, datasetPage } from './queries';
import '../../components/ui.css';

/** /datasets (the list and a create form) and /datasets/:id (its items, import and export). */
export default function Datasets() {
  return (
    <Routes>
      <Route index element={<DatasetList />} />
      <Route
        path=":id"
        element={
          <WithId what="dataset" back={{ to: '/datasets', label: 'Datasets' }}>
            <DatasetView />
          </WithId>
        }
      />
      <Route path="*" element={<NotFound back={{ to: '/datasets', label: 'Datasets' }} />} />
    </Routes>
  );
}

/** The server's rule for a dataset name (eval/datasets/schema.ts `datasetName`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function DatasetList() {
  const { can } = useAuth();
  const [offset, setOffset] = useState(0);
  const list = useApiQuery({ ...datasetPage(offset), placeholderData: keepPreviousData });
  return (
    <section>
      <div className="page-head">
        <h1>Datasets</h1>
        <Link className="button secondary" to="/experiments">
          Experiments
        </Link>
      </div>
      <p className="muted">
        Test cases for an agent: an input, and optionally the answer expected. Run an agent over one in an
        experiment to score it.
      </p>
      <ErrorNote error={list.error} />
      {list.data && list.data.data.length === 0 ? (
        <EmptyState title="No datasets yet">
          <p>Create one below, then add items by importing JSONL or CSV, or from a run's page.</p>
        </EmptyState>
      ) : null}
      {list.data && list.data.data.length > 0 ? (
        <TableWrap label="Datasets table">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Items</th>
                <th>Description</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.data.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Link to={`/datasets/${d.id}`}>{d.name}</Link>
                  </td>
                  <td>{num(d.item_count)}</td>
                  <td>{d.description || '—'}</td>
                  <td>{when(d.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Dataset pages" offset={offset} page={list.data} onOffset={setOffset} />
      {can('write') ? <CreateDataset /> : null}
    </section>
  );
}

function CreateDataset() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/datasets', {
          body: { name, ...(description.trim() && { description: description.trim() }) },
        }),
      ),
    onSuccess: (d) => {
      void client.invalidateQueries({ queryKey: datasetKeys.all });
      navigate(`/datasets/${d.id}`);
    },
  });
  const form = useFieldErrors({ error: create.error });
  const nameError = !name
    ? 'Name the dataset.'
    : NAME.test(name)
      ? undefined
      : 'Letters, digits, ".", "_" and "-", starting with a letter or digit (up to 100).';
  return (
    <form
      className="panel"
      aria-label="New dataset"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (form.check(new Map(nameError ? [['name', nameError]] : []))) create.mutate();
      }}
    >
      <h2>New dataset</h2>
      <div className="field">
        <label htmlFor={form.input('name').id}>Name</label>
        <input {...form.bind('name', setName)} value={name} />
        <FieldError form={form} k="name" />
      </div>
      <div className="field">
        <label htmlFor={form.input('description').id}>Description</label>
        <input {...form.bind('description', setDescription)} value={description} />
        <FieldError form={form} k="description" />
      </div>
      <BusyButton type="submit" busy={create.isPending} busyReason="Creating the dataset…">
        Create dataset
      </BusyButton>
      <FormProblems form={form} before="before creating it" />
      <ErrorNote error={form.unplaced(create.error)} />
    </form>
  );
}
