/** A task's or run's status as a coloured word (colour is never the only signal: the word is there). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status.replace('_', ' ')}</span>;
}
