import type { ButtonHTMLAttributes } from 'react';

/**
 * A button that is off while its request is in flight, and says so: the reason is its title, which
 * is the tooltip and, as the name comes from the words, the button's accessible description;
 * `aria-busy` marks the wait. A button
 * that is off for another reason passes `disabledReason`.
 */
export function BusyButton({
  busy,
  busyReason = 'Working…',
  disabledReason,
  children,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & {
  busy: boolean;
  /** Said while the request is in flight: "Creating the dataset…". */
  busyReason?: string;
  /** Said while the button is off for something else than a request: "Pick a dataset first". */
  disabledReason?: string;
}) {
  const reason = busy ? busyReason : disabledReason;
  return (
    <button
      type="button"
      {...rest}
      disabled={busy || Boolean(disabledReason) || rest.disabled}
      aria-busy={busy || undefined}
      title={reason ?? rest.title}
    >
      {children}
    </button>
  );
}
