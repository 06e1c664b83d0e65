import { useState } from 'react';
import { ErrorNote } from '../../components/ErrorNote';
import { bytes, when } from '../../lib/format';
import { authorizedFetch, errorOf } from '../../lib/sse';
import { useDeployments } from './queries';

/** A local-dev agent's scaffold (a zip fetched with the key, then saved) and its deployments. */
export function LocalDevPanel({ agentId, name }: { agentId: string; name: string }) {
  const deployments = useDeployments(agentId, true);
  const [error, setError] = useState<unknown>();
  const download = async () => {
    setError(undefined);
    const res = await authorizedFetch(`/v1/agents/scaffold?name=${encodeURIComponent(name)}`);
    if (!res.ok) return setError(await errorOf(res));
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `${name}.zip`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <section className="panel" aria-labelledby="local-dev-title">
      <h2 id="local-dev-title">Local development</h2>
      <ol>
        <li>
          <button type="button" className="secondary" onClick={() => void download()}>
            Download the scaffold ({name}.zip)
          </button>
        </li>
        <li>
          Implement <code>handle(input, ctx)</code> in it, then run <code>agentry deploy</code> from its
          folder.
        </li>
      </ol>
      <ErrorNote error={error ?? deployments.error} />
      <h3>Deployments</h3>
      {deployments.data?.length === 0 ? (
        <p className="muted">Nothing deployed yet: chats answer once the first deployment is in.</p>
      ) : null}
      {deployments.data?.length ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Deployments of {name}</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">When</th>
                <th scope="col">By</th>
                <th scope="col">Size</th>
                <th scope="col">sha256</th>
              </tr>
            </thead>
            <tbody>
              {deployments.data.map((d) => (
                <tr key={d.id}>
                  <td>
                    v{d.version}
                    {d.current ? <strong> (current)</strong> : null}
                  </td>
                  <td>{when(d.created_at)}</td>
                  <td>{d.created_by ?? '—'}</td>
                  <td>{bytes(d.size_bytes)}</td>
                  <td>
                    <code>{d.sha256.slice(0, 12)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
