import { CopyButton } from './CopyButton';

/** A block of JSON or text that may scroll, with a copy button; focusable so keyboard users can scroll it too. */
export function Code({
  children,
  label,
  className = '',
}: {
  children: string;
  label: string;
  className?: string;
}) {
  return (
    <section aria-label={label} className="code-block">
      <CopyButton text={children} label={`Copy ${label.toLowerCase()}`} />
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (WCAG 2.1.1) */}
      <pre className={`code ${className}`} tabIndex={0}>
        {children}
      </pre>
    </section>
  );
}

/** A wide table that scrolls sideways on a narrow screen; focusable so the keyboard can scroll it. */
export function TableWrap({ children, label }: { children: React.ReactNode; label: string }) {
  return (
    <section aria-label={label}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (WCAG 2.1.1) */}
      <div className="table-wrap" tabIndex={0}>
        {children}
      </div>
    </section>
  );
}
