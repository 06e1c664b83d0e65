import { ApiError } from '../api';

/** An error in the page, with the request id an operator can find in the server's log. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof Error ? error : new Error(String(error));
  return (
    <div role="alert" className="error">
      <strong>{e instanceof ApiError ? `${e.status} ${e.code}` : 'Error'}:</strong> {e.message}
      {e instanceof ApiError && e.requestId ? <span className="muted"> (request {e.requestId})</span> : null}
    </div>
  );
}
