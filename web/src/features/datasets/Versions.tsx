import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { TableWrap } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { Pager } from '../../components/Pager';
import { num, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { type DatasetVersion, datasetVersions } from './queries';

const CHANGES: Record<DatasetVersion['change'], string> = {
  created: 'Created',
  items_added: 'Items added',
  item_edited: 'Item edited',
  item_deleted: 'Item deleted',
  imported: 'Imported',
  from_run: 'Run added',
};

/** What a version changed, in words: "2 added, 1 edited". */
const delta = (v: DatasetVersion) =>
  [
    v.added ? `${num(v.added)} added` : '',
    v.edited ? `${num(v.edited)} edited` : '',
    v.deleted ? `${num(v.deleted)} deleted` : '',
  ]
    .filter(Boolean)
    .join(', ') || '—';

/**
 * The dataset's versions, newest first (every change to its items makes one); each row's button shows
 * the items as they were at that version.
 */
export function Versions({
  id,
  current,
  shown,
  onShow,
}: {
  id: string;
  current: number;
  shown: number;
  onShow: (version: number) => void;
}) {
  const [offset, setOffset] = useState(0);
  const versions = useApiQuery({ ...datasetVersions(id, offset), placeholderData: keepPreviousData });
  return (
    <>
      <h2>Versions</h2>
      <ErrorNote error={versions.error} />
      {versions.data ? (
        <TableWrap label="Versions table">
          <table>
            <thead>
              <tr>
                <th>Version</th>
                <th>Change</th>
                <th>Items changed</th>
                <th>Items</th>
                <th>When</th>
                <th>Items then</th>
              </tr>
            </thead>
            <tbody>
              {versions.data.data.map((v) => (
                <tr key={v.version} aria-current={v.version === shown || undefined}>
                  <td>
                    {num(v.version)}
                    {v.version === current ? ' (current)' : ''}
                  </td>
                  <td>{CHANGES[v.change]}</td>
                  <td>{delta(v)}</td>
                  <td>{num(v.item_count)}</td>
                  <td>{when(v.created_at)}</td>
                  <td>
                    {v.version === shown ? (
                      <span className="muted">Shown</span>
                    ) : (
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`View items of version ${v.version}`}
                        onClick={() => onShow(v.version)}
                      >
                        View items
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Version pages" offset={offset} page={versions.data} onOffset={setOffset} />
    </>
  );
}
