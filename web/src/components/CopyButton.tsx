import { useEffect, useState } from 'react';

/**
 * Copies a text (an id, a key, a block of code) to the clipboard. Its accessible name says what it
 * copies ("Copy the run id"); after a copy "Copied" shows beside it for a moment, announced politely.
 */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  // The button's words stay "Copy" (its name, "Copy the run id", holds them); the outcome is said
  // beside it, politely announced.
  return (
    <>
      <button
        type="button"
        className="secondary copy"
        aria-label={label}
        title={label}
        onClick={() =>
          navigator.clipboard.writeText(text).then(
            () => setState('copied'),
            () => setState('failed'),
          )
        }
      >
        Copy
      </button>
      <span className="copy-note small" aria-live="polite">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Could not copy: select the text instead' : ''}
      </span>
    </>
  );
}
