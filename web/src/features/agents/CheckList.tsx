import { useId, useState } from 'react';

export interface Choice {
  value: string;
  label?: string;
  hint?: string;
  group?: string;
}

/**
 * A multiple choice as a fieldset of checkboxes (keyboard and screen-reader friendly), with a
 * filter when the list is long. Chosen values not offered any more are kept and shown.
 */
export function CheckList({
  legend,
  choices,
  value,
  onChange,
  empty,
}: {
  legend: string;
  choices: Choice[];
  value: string[];
  onChange: (v: string[]) => void;
  empty: string;
}) {
  const [filter, setFilter] = useState('');
  const id = useId();
  const known = new Set(choices.map((c) => c.value));
  const all: Choice[] = [
    ...choices,
    ...value.filter((v) => !known.has(v)).map((v) => ({ value: v, hint: 'not available' })),
  ];
  const shown = all.filter((c) => !filter || c.value.toLowerCase().includes(filter.toLowerCase()));
  const groups = [...new Set(shown.map((c) => c.group ?? ''))];
  const toggle = (v: string, on: boolean) => onChange(on ? [...value, v] : value.filter((x) => x !== v));
  return (
    <fieldset className="checklist">
      <legend>
        {legend} <span className="muted">({value.length} chosen)</span>
      </legend>
      {all.length > 8 ? (
        <input
          type="search"
          aria-label={`Filter ${legend.toLowerCase()}`}
          placeholder="Filter…"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
      ) : null}
      {all.length === 0 ? <p className="muted">{empty}</p> : null}
      {groups.map((g) => (
        <div key={g} className="check-group">
          {g ? <p className="group-name">{g}</p> : null}
          {shown
            .filter((c) => (c.group ?? '') === g)
            .map((c) => (
              <label key={c.value} className="check" htmlFor={`${id}-${c.value}`}>
                <input
                  id={`${id}-${c.value}`}
                  type="checkbox"
                  checked={value.includes(c.value)}
                  onChange={(e) => toggle(c.value, e.target.checked)}
                />
                <span>
                  {c.label ?? c.value}
                  {c.hint ? <span className="muted"> — {c.hint}</span> : null}
                </span>
              </label>
            ))}
        </div>
      ))}
    </fieldset>
  );
}
