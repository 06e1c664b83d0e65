import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { Link } from 'react-router';
import { TableWrap } from '../../components/Code';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { api, unwrap } from '../../lib/api';
import { pretty } from '../../lib/format';
import { ItemForm } from './ItemForm';
import { type DatasetItem, datasetKeys } from './queries';

const inputText = (input: DatasetItem['input']) =>
  'message' in input ? input.message : `${input.task_type}: ${pretty(input.payload ?? {})}`;

/**
 * A page of items; when `editable` (the current version, a writer), each row's Edit opens its form
 * under it and Delete asks first.
 */
export function ItemTable({
  datasetId,
  items,
  editable,
}: {
  datasetId: string;
  items: DatasetItem[];
  editable: boolean;
}) {
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: async (itemId: string) =>
      unwrap(
        await api.DELETE('/v1/datasets/{id}/items/{item_id}', {
          params: { path: { id: datasetId, item_id: itemId } },
        }),
      ),
    onSuccess: () => {
      setDeleting(null);
      void client.invalidateQueries({ queryKey: datasetKeys.all });
    },
  });
  const columns = editable ? 5 : 4;
  return (
    <TableWrap label="Items table">
      <table>
        <thead>
          <tr>
            <th>Input</th>
            <th>Expected</th>
            <th>Tags</th>
            <th>From run</th>
            {editable ? <th>Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <Fragment key={i.id}>
              <tr>
                <td className="prewrap">{inputText(i.input)}</td>
                <td className="prewrap">
                  {i.expected === null || i.expected === undefined ? '—' : pretty(i.expected)}
                </td>
                <td>{i.tags.join(', ') || '—'}</td>
                <td>
                  {i.source_run_id ? (
                    <Link to={`/runs/${i.source_run_id}`}>{i.source_run_id.slice(-8)}</Link>
                  ) : (
                    '—'
                  )}
                </td>
                {editable ? (
                  <td>
                    <div className="actions">
                      <button
                        type="button"
                        className="secondary"
                        aria-expanded={editing === i.id}
                        aria-label={`Edit the item “${inputText(i.input).slice(0, 40)}”`}
                        onClick={() => setEditing(editing === i.id ? null : i.id)}
                      >
                        Edit
                      </button>
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`Delete the item “${inputText(i.input).slice(0, 40)}”`}
                        onClick={() => {
                          remove.reset();
                          setDeleting(i.id);
                        }}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                ) : null}
              </tr>
              {editing === i.id ? (
                <tr>
                  <td colSpan={columns}>
                    <ItemForm datasetId={datasetId} item={i} onDone={() => setEditing(null)} />
                  </td>
                </tr>
              ) : null}
              {deleting === i.id ? (
                <tr>
                  <td colSpan={columns}>
                    <ConfirmDialog
                      action="Delete item"
                      busy={remove.isPending}
                      error={remove.error}
                      onConfirm={() => remove.mutate(i.id)}
                      onCancel={() => setDeleting(null)}
                    >
                      Delete this item? The dataset's earlier versions keep it.
                    </ConfirmDialog>
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
