import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { ErrorNote } from '../../components/ErrorNote';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { count, usd } from '../../lib/format';
import { authorizedFetch, followRun } from '../../lib/sse';
import type { Agent } from '../../lib/types';
import { playKeys, useMessages, useRun, useSessionRuns } from './queries';
import { ToolCardView } from './ToolCardView';
import { applyEvent, emptyTranscript, type Transcript, transcriptOf } from './transcript';

/**
 * The conversation with one agent in one session (a new one until the first answer names it):
 * streamed tokens, tool cards, one approval prompt per pause, a stop button, tokens and cost.
 */
export function Chat({
  agent,
  version,
  sessionId,
  onSession,
}: {
  agent: Agent;
  /** The version every message is sent to; the latest when none. */
  version?: number;
  sessionId: string | undefined;
  onSession: (id: string) => void;
}) {
  const { can } = useAuth();
  const qc = useQueryClient();
  const [t, setT] = useState<Transcript>(emptyTranscript);
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>();
  const [reconnecting, setReconnecting] = useState(false);
  const [deciding, setDeciding] = useState(false);
  const [stopping, setStopping] = useState(false);
  const abort = useRef<AbortController | undefined>(undefined);
  /** Stop was pressed before the stream named its run: cancel that run as soon as it does. */
  const stopWanted = useRef(false);
  /** The session this component's own chat created: its history is already on screen. */
  const live = useRef<string | undefined>(undefined);
  const history = useMessages(sessionId, sessionId !== live.current);
  const runs = useSessionRuns(sessionId);
  const waiting = useRun(runs.data?.find((r) => r.status === 'input_required')?.id).data;
  const endRef = useRef<HTMLDivElement>(null);

  // A session opened from the sidebar shows its stored history.
  useEffect(() => {
    if (sessionId && sessionId !== live.current && history.data) {
      setT({ ...emptyTranscript, sessionId, items: transcriptOf(history.data) });
    }
    if (!sessionId) setT(emptyTranscript);
  }, [sessionId, history.data]);
  useEffect(() => () => abort.current?.abort(), []);
  const shown = t.items.length;
  useEffect(() => {
    // Braces: newer browsers' scrollIntoView returns a promise, which must not become the cleanup.
    if (shown > 0) void endRef.current?.scrollIntoView?.({ block: 'end' });
  }, [shown]);

  const refresh = (sid: string | undefined) => {
    if (!sid) return;
    void qc.invalidateQueries({ queryKey: playKeys.runs(sid) });
    void qc.invalidateQueries({ queryKey: playKeys.sessions(agent.id) });
  };

  const follow = async (open: (signal: AbortSignal) => Promise<Response>) => {
    const controller = new AbortController();
    abort.current = controller;
    setError(undefined);
    let sid = t.sessionId ?? sessionId;
    try {
      await followRun({
        open,
        signal: controller.signal,
        onReconnect: () => setReconnecting(true),
        onEvent: (e) => {
          setReconnecting(false);
          setT((x) => applyEvent(x, e));
          if (
            e.type === 'session_start' &&
            typeof e.data.session_id === 'string' &&
            e.data.session_id !== sid
          ) {
            sid = e.data.session_id;
            live.current = sid;
            onSession(sid);
          }
          if (e.type === 'approval_required' || e.type === 'result') refresh(sid);
          if (stopWanted.current && e.type === 'session_start' && typeof e.data.run_id === 'string') {
            stopWanted.current = false;
            controller.abort();
            void cancel(e.data.run_id, sid);
          }
        },
      });
    } catch (err) {
      if (!controller.signal.aborted) setError(err);
    } finally {
      setReconnecting(false);
      setStopping(false);
      setT((x) => ({ ...x, running: false }));
      refresh(sid);
    }
  };

  const send = () => {
    const text = message.trim();
    if (!text || t.running) return;
    setMessage('');
    stopWanted.current = false;
    setStopping(false);
    const sid = t.sessionId ?? sessionId;
    setT((x) => ({
      ...x,
      running: true,
      items: [...x.items, { kind: 'user', key: `u${Date.now()}`, text }],
    }));
    void follow((signal) =>
      authorizedFetch(`/v1/agents/${agent.id}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({
          message: text,
          ...(sid && { session_id: sid }),
          ...(version && { agent_version: version }),
        }),
        signal,
      }),
    );
  };

  const runId = t.running ? t.runId : waiting?.id;
  const decide = async (approve: boolean) => {
    if (!runId) return;
    setDeciding(true);
    setError(undefined);
    try {
      const path = { params: { path: { id: runId } } };
      unwrap(
        approve
          ? await api.POST('/v1/runs/{id}/approve', path)
          : await api.POST('/v1/runs/{id}/deny', { ...path, body: { reason: 'denied in the playground' } }),
      );
      // A paused run reopened from the sidebar is not being followed yet: follow it to its end.
      if (!t.running) {
        void follow((signal) =>
          authorizedFetch(`/v1/runs/${runId}/stream`, { headers: { accept: 'text/event-stream' }, signal }),
        );
      }
    } catch (err) {
      setError(err);
    } finally {
      setDeciding(false);
      refresh(t.sessionId ?? sessionId);
    }
  };

  const cancel = async (id: string, sid: string | undefined) => {
    try {
      unwrap(
        await api.POST('/v1/runs/{id}/cancel', {
          params: { path: { id } },
          body: { reason: 'stopped in the playground' },
        }),
      );
      setT((x) => ({
        ...x,
        running: false,
        pending: [],
        items: [...x.items, { kind: 'notice', key: `stop${id}`, text: 'Stopped.', tone: 'info' }],
      }));
    } catch (err) {
      setError(err);
    } finally {
      refresh(sid);
    }
  };

  const stop = () => {
    const id = t.runId;
    // Aborting before the run has an id would leave it running unseen: keep following until it has.
    if (!id) {
      stopWanted.current = true;
      setStopping(true);
      return;
    }
    abort.current?.abort();
    void cancel(id, t.sessionId ?? sessionId);
  };

  const pendingNames = t.pending.length
    ? t.items.flatMap((i) => (i.kind === 'tool' && t.pending.includes(i.card.id) ? [i.card.name] : []))
    : (waiting?.pending_tool_calls ?? []).map((c) => c.name);
  // Each message sent links to the run that answered it: the runs come newest first, the messages
  // oldest first, so they pair from the end (and only where the run's input is that message).
  const sent = t.items.filter((i) => i.kind === 'user');
  const runOf = new Map(
    sent.flatMap((i, n) => {
      const run = runs.data?.[sent.length - 1 - n];
      return run && i.kind === 'user' && run.input === i.text ? [[i.key, run.id] as const] : [];
    }),
  );
  // The versions the session's turns ran (a reopened session may have run one no longer the latest).
  const ran = [...new Set((runs.data ?? []).flatMap((r) => (r.agent_version ? [r.agent_version] : [])))].sort(
    (a, b) => a - b,
  );
  const tokens = (runs.data ?? []).reduce((n, r) => n + r.usage.total_tokens, 0);
  const cost = (runs.data ?? []).reduce((n, r) => n + r.cost_usd, 0);

  return (
    <div className="chat">
      <div className="chat-head">
        <p className="pinned">
          {version ? (
            <>
              <strong>
                {agent.name} v{version}
              </strong>{' '}
              <span className="muted">
                pinned{version === agent.version ? ' (the latest)' : `; the latest is v${agent.version}`}
              </span>
            </>
          ) : (
            <>
              <strong>
                {agent.name} v{agent.version}
              </strong>{' '}
              <span className="muted">the latest, not pinned</span>
            </>
          )}
          {ran.length ? (
            <span className="muted"> · this session ran {ran.map((v) => `v${v}`).join(', ')}</span>
          ) : null}
        </p>
        <p className="counter" aria-live="off">
          <span>{count(tokens, 'token')}</span> · <span>{usd(cost)}</span>
          <span className="muted"> this session</span>
        </p>
      </div>
      <div
        className="transcript"
        role="log"
        aria-label="Conversation"
        aria-live="polite"
        aria-busy={t.running}
      >
        {t.items.length === 0 && !history.isFetching ? (
          <p className="muted">
            Say something to {agent.name}. Its answer streams here; tools it calls appear as cards
            {agent.mode === 'COLLABORATIVE' ? ', and risky ones wait for your approval' : ''}.
          </p>
        ) : null}
        {t.items.map((i) =>
          i.kind === 'user' ? (
            <div key={i.key} className="bubble user">
              <span className="sr-only">You: </span>
              {i.text}
              {runOf.has(i.key) ? (
                <Link className="run-link" to={`/runs/${runOf.get(i.key)}`}>
                  Run trace
                </Link>
              ) : null}
            </div>
          ) : i.kind === 'assistant' ? (
            <div key={i.key} className="bubble assistant">
              <span className="sr-only">{i.agent ?? agent.name}: </span>
              {i.agent ? <span className="muted small">{i.agent}: </span> : null}
              {i.text}
            </div>
          ) : i.kind === 'tool' ? (
            <ToolCardView key={i.key} card={i.card} />
          ) : (
            <p key={i.key} className={i.tone === 'error' ? 'field-error' : 'muted'}>
              {i.text}
            </p>
          ),
        )}
        {reconnecting ? <p className="muted">Connection lost; resuming where it stopped…</p> : null}
        <div ref={endRef} />
      </div>
      {pendingNames.length ? (
        <fieldset className="approval">
          <legend>Approval needed</legend>
          <p>
            The agent wants to run <strong>{pendingNames.join(', ')}</strong>. It waits for your decision.
          </p>
          {can('write') ? (
            <div className="actions">
              <button type="button" disabled={deciding} onClick={() => void decide(true)}>
                Approve
              </button>
              <button
                type="button"
                className="secondary"
                disabled={deciding}
                onClick={() => void decide(false)}
              >
                Deny
              </button>
            </div>
          ) : (
            <p className="muted">A key with write access can approve or deny it.</p>
          )}
        </fieldset>
      ) : null}
      <ErrorNote error={error ?? history.error ?? runs.error} />
      {can('write') ? (
        <form
          className="composer"
          onSubmit={(e) => {
            e.preventDefault();
            send();
          }}
        >
          <label htmlFor="chat-message" className="sr-only">
            Message to {agent.name}
          </label>
          <textarea
            id="chat-message"
            rows={2}
            value={message}
            placeholder={`Message ${agent.name}… (Enter sends, Shift+Enter for a new line)`}
            onChange={(e) => setMessage(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                send();
              }
            }}
          />
          {t.running ? (
            <button type="button" className="danger" onClick={stop} disabled={stopping}>
              {stopping ? 'Stopping…' : 'Stop'}
            </button>
          ) : (
            <button type="submit" disabled={!message.trim()}>
              Send
            </button>
          )}
        </form>
      ) : (
        <p className="muted">This key can read conversations but not send messages.</p>
      )}
    </div>
  );
}
