import { type ReactNode, useId } from 'react';
import { BusyButton } from './BusyButton';
import { ErrorNote } from './ErrorNote';

/**
 * A question before something that cannot be undone: the danger button names what it does, the
 * safe one takes focus. A refusal of the server (a 409 naming what still uses the object) shows here.
 */
export function ConfirmDialog({
  children,
  action,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  children: ReactNode;
  /** The danger button's words: `Delete clerk`. */
  action: string;
  busy: boolean;
  error: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const id = useId();
  return (
    <div role="alertdialog" aria-labelledby={id} className="confirm">
      <p id={id}>{children}</p>
      <ErrorNote error={error} />
      <div className="actions">
        <BusyButton className="danger" busy={busy} busyReason="Waiting for the server…" onClick={onConfirm}>
          {action}
        </BusyButton>
        {/* biome-ignore lint/a11y/noAutofocus: the safe choice takes focus when the question opens */}
        <button type="button" className="secondary" autoFocus onClick={onCancel}>
          Keep it
        </button>
      </div>
    </div>
  );
}
