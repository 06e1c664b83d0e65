import { useRef, useState } from 'react';
import { ErrorNote } from '../../components/ErrorNote';
import { authorizedFetch, followRun, type RunEvent } from '../../lib/sse';
import type { Team } from '../../lib/types';

/** Runs the team on a message and reports every event, so the graph can colour its nodes live. */
export function RunPanel({
  team,
  onEvent,
  onStart,
}: {
  team: Team;
  onEvent: (e: RunEvent) => void;
  onStart: () => void;
}) {
  const [message, setMessage] = useState('');
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<unknown>();
  const [answer, setAnswer] = useState('');
  const [log, setLog] = useState<string[]>([]);
  const abort = useRef<AbortController | undefined>(undefined);
  const run = async () => {
    const controller = new AbortController();
    abort.current = controller;
    setRunning(true);
    setError(undefined);
    setAnswer('');
    setLog([]);
    onStart();
    try {
      await followRun({
        signal: controller.signal,
        open: (signal) =>
          authorizedFetch(`/v1/multi-agents/${team.id}/run`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
            body: JSON.stringify({ message }),
            signal,
          }),
        onEvent: (e) => {
          onEvent(e);
          const d = e.data;
          if (e.type === 'result' && typeof d.text === 'string') setAnswer(d.text);
          const line =
            e.type === 'node_start'
              ? `${String(d.agent)} started`
              : e.type === 'node_end'
                ? `${String(d.agent)} ${String(d.status)}${d.error ? `: ${String(d.error)}` : ''}`
                : e.type === 'handoff'
                  ? `${String(d.from)} handed off to ${String(d.to)}`
                  : e.type === 'error'
                    ? `error: ${String(d.message)}`
                    : e.type === 'session_end'
                      ? `run ${String(d.status)}`
                      : undefined;
          if (line) setLog((l) => [...l, line]);
        },
      });
    } catch (err) {
      if (!controller.signal.aborted) setError(err);
    } finally {
      setRunning(false);
    }
  };
  return (
    <section className="panel" aria-labelledby="run-title">
      <h2 id="run-title">Run the team</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (message.trim() && !running) void run();
        }}
      >
        <label htmlFor="team-message">Message</label>
        <textarea id="team-message" rows={2} value={message} onChange={(e) => setMessage(e.target.value)} />
        <div className="actions">
          <button type="submit" disabled={running || !message.trim()}>
            {running ? 'Running…' : 'Run'}
          </button>
          {running ? (
            <button type="button" className="secondary" onClick={() => abort.current?.abort()}>
              Stop watching
            </button>
          ) : null}
        </div>
      </form>
      <ErrorNote error={error} />
      {log.length ? (
        <ol className="run-log" aria-label="Run events" aria-live="polite">
          {log.map((l, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the log only grows
            <li key={i}>{l}</li>
          ))}
        </ol>
      ) : null}
      {answer ? (
        <>
          <h3>Answer</h3>
          <pre>{answer}</pre>
        </>
      ) : null}
    </section>
  );
}
