import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { BusyButton } from '../../components/BusyButton';
import { TableWrap } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { GateEvidence, gateText, refusalOf } from './GateEvidence';
import { GateForm } from './GateForm';
import { LABEL, labelRule } from './label-name';
import { agentKeys, agentLabels } from './queries';
import { type Removal, RemoveFromLabel } from './RemoveFromLabel';

/** An agent's labels, each on its version with its gate; moving one (a gated move shows its evidence). */
export function VersionLabels({ id, latest }: { id: string; latest: number | undefined }) {
  const { can } = useAuth();
  const labels = useApiQuery(agentLabels(id));
  const names = [...new Set(['production', 'staging', ...(labels.data ?? []).map((l) => l.label)])];
  const [removing, setRemoving] = useState<Removal>();
  return (
    <section aria-labelledby="labels-h">
      <h2 id="labels-h">Labels</h2>
      <p className="muted">
        A label (<code>production</code>, <code>staging</code>, any name) points at one version: chats, tasks
        and experiments can name it as <code>agent@label</code>. A label with a gate moves only to a version
        whose newest completed experiment on the gate's dataset reaches the gate.
      </p>
      <ErrorNote error={labels.error} />
      {removing ? <RemoveFromLabel id={id} removal={removing} onDone={() => setRemoving(undefined)} /> : null}
      {labels.data && labels.data.length === 0 ? <p>No label yet.</p> : null}
      {labels.data && labels.data.length > 0 ? (
        <TableWrap label="Labels table">
          <table>
            <thead>
              <tr>
                <th>Label</th>
                <th>Version</th>
                <th>Gate</th>
                <th>Changed</th>
                {can('write') ? <th>Remove</th> : null}
              </tr>
            </thead>
            <tbody>
              {labels.data.map((l) => (
                <tr key={l.label}>
                  <td>{l.label}</td>
                  <td>{l.version ?? '—'}</td>
                  <td>{l.gate ? gateText(l.gate) : 'none'}</td>
                  <td>
                    {when(l.updated_at)} by {l.updated_by}
                  </td>
                  {can('write') ? (
                    <td>
                      {l.version !== null ? (
                        <button
                          type="button"
                          className="secondary"
                          onClick={() => setRemoving({ label: l.label, what: 'label', version: l.version })}
                        >
                          Take off <span className="sr-only">{l.label}</span>
                        </button>
                      ) : null}{' '}
                      {l.gate && can('admin') ? (
                        <button
                          type="button"
                          className="secondary"
                          onClick={() => setRemoving({ label: l.label, what: 'gate', version: l.version })}
                        >
                          Remove gate <span className="sr-only">of {l.label}</span>
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <datalist id="label-names">
        {names.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      <div className="grid2">
        {can('write') ? <MoveLabel id={id} latest={latest} /> : null}
        {can('admin') ? <GateForm id={id} /> : null}
      </div>
    </section>
  );
}

type MoveField = 'label' | 'version' | 'message';

function MoveLabel({ id, latest }: { id: string; latest: number | undefined }) {
  const client = useQueryClient();
  const [label, setLabel] = useState('production');
  const [version, setVersion] = useState('');
  const [message, setMessage] = useState('');
  const chosen = version || String(latest ?? '');
  const move = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PUT('/v1/agents/{id}/labels/{label}', {
          params: { path: { id, label } },
          body: { version: Number(chosen), ...(message.trim() && { message: message.trim() }) },
        }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: agentKeys.all }),
  });
  const refused = refusalOf(move.error);
  const form = useFieldErrors<MoveField>({ error: refused ? null : move.error });
  const problems = () => {
    const p = new Map<MoveField, string>();
    if (!LABEL.test(label)) p.set('label', labelRule);
    if (!/^[1-9]\d{0,9}$/.test(chosen)) p.set('version', 'A version number: 1, 2, 3…');
    return p;
  };
  const moved = move.data;
  return (
    <form
      className="panel stack"
      aria-labelledby="move-h"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (form.check(problems())) move.mutate();
      }}
    >
      <h3 id="move-h">Move a label</h3>
      <div className="field">
        <label htmlFor={form.input('label').id}>Label</label>
        <input {...form.bind('label', (v) => setLabel(v.trim()))} list="label-names" value={label} />
        <FieldError form={form} k="label" />
      </div>
      <div className="field">
        <label htmlFor={form.input('version').id}>Target version</label>
        <input {...form.bind('version', (v) => setVersion(v.trim()))} inputMode="numeric" value={chosen} />
        <FieldError form={form} k="version" />
      </div>
      <div className="field">
        <label htmlFor={form.input('message').id}>Note (optional)</label>
        <input {...form.bind('message', setMessage)} value={message} />
        <FieldError form={form} k="message" />
      </div>
      <div>
        <BusyButton type="submit" busy={move.isPending} busyReason="Moving the label…">
          Move label
        </BusyButton>
      </div>
      <FormProblems form={form} before="before moving the label" />
      {refused ? (
        <GateEvidence evidence={refused} label={label} />
      ) : (
        <ErrorNote error={form.unplaced(move.error)} />
      )}
      {moved ? (
        <>
          <p role="status" className="ok-note">
            {moved.label.label} now points at version {moved.label.version}
            {moved.previous_version ? ` (was ${moved.previous_version})` : ''}.
          </p>
          {moved.evidence ? <GateEvidence evidence={moved.evidence} label={moved.label.label} /> : null}
        </>
      ) : null}
    </form>
  );
}
