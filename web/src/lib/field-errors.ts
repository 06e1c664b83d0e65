import { useEffect, useId, useRef, useState } from 'react';
import { ApiError } from './api';

/** One problem of a 400 `validation_error` as the server sends it (src/http/plugins/errors.ts). */
interface Detail {
  in?: string;
  path: string;
  message: string;
}

/** The body's problems an API error names by path (`name`, `task_types.0.input_schema.minItems`). */
function detailsOf(err: unknown): Detail[] {
  if (!(err instanceof ApiError) || !Array.isArray(err.details)) return [];
  return (err.details as unknown[]).filter(
    (d): d is Detail =>
      typeof d === 'object' &&
      d !== null &&
      typeof (d as Detail).path === 'string' &&
      typeof (d as Detail).message === 'string' &&
      ((d as Detail).in ?? 'body') === 'body',
  );
}

const sentence = (s: string) => (s ? `${s[0]?.toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}` : s);

/** A field's name as the page shows it: its label, a group's legend, or its aria-label. */
const labelOf = (el: HTMLElement) =>
  (
    (el as HTMLInputElement).labels?.[0]?.textContent ??
    el.querySelector(':scope > legend')?.textContent ??
    el.getAttribute('aria-label') ??
    el.id
  )
    .trim()
    .replace(/\s*\*$/, ''); // a required field's mark is not its name

/** A field's place in the page, for the summary that names and links each field needing attention. */
export interface BadField {
  id: string;
  label: string;
}

/**
 * The one way a console form shows what is wrong: each problem under its field (the form's own
 * checks, and the API's 400 by the path of each of its problems), the field marked `aria-invalid`
 * and described by its problem, focus moved to the first bad field on submit, and a field's problem
 * gone as soon as the user changes that field. `live` problems (JSON that does not parse) show
 * while typing; the others from the first submit on.
 *
 * `fieldOf` maps an API path to the form's field key where the two differ (`metadata` edited as
 * `metadataText`); by default a path lands on the longest field key it starts with.
 */
export function useFieldErrors<K extends string = string>(
  options: {
    live?: ReadonlyMap<K, string>;
    fieldOf?: (path: string) => K | undefined;
    /** The form's request's error (a mutation's): its problems land on their fields as it comes. */
    error?: unknown;
  } = {},
) {
  const base = useId();
  const [shown, setShown] = useState<ReadonlyMap<K, string>>(new Map());
  const [bad, setBad] = useState<BadField[]>([]);
  const [focusTick, setFocusTick] = useState(0);
  /** The field keys the form rendered (through `input`): where an API path can land. */
  const known = useRef(new Set<string>());
  const live = options.live ?? new Map<K, string>();
  const errorOf = (k: K): string | undefined => live.get(k) ?? shown.get(k);
  const idOf = (k: K) => `${base}-${k}`;
  /** The keys of the last problems shown, for the focus that follows their render. */
  const shownKeys = useRef<K[]>([]);

  // After a submit that found problems: focus the first bad field in the page's order and name them all.
  useEffect(() => {
    if (focusTick === 0) return;
    const fields = [...new Set([...shownKeys.current])]
      .map((k) => document.getElementById(`${base}-${k}`))
      .filter((el): el is HTMLElement => el !== null)
      .sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    fields[0]?.focus();
    setBad(
      fields.map((el) => ({
        id: el.id,
        label: labelOf(el),
      })),
    );
  }, [focusTick, base]);

  const show = (problems: ReadonlyMap<K, string>) => {
    shownKeys.current = [...problems.keys()];
    setShown(problems);
    setFocusTick((t) => t + 1);
  };

  // A path lands only on a field on the page now (a field the form hides takes nothing).
  const onPage = (k: string) => known.current.has(k) && document.getElementById(`${base}-${k}`) !== null;
  const landOn = (path: string): K | undefined => {
    const mapped = options.fieldOf?.(path);
    if (mapped !== undefined) return onPage(mapped) ? mapped : undefined;
    let best: string | undefined;
    for (const k of known.current) {
      if (!onPage(k)) continue;
      if ((path === k || path.startsWith(`${k}.`)) && k.length > (best?.length ?? -1)) best = k;
    }
    return best as K | undefined;
  };

  const fromApi = (err: unknown) => {
    const found = new Map<K, string>();
    for (const d of detailsOf(err)) {
      const k = landOn(d.path);
      if (k !== undefined && !found.has(k)) found.set(k, sentence(d.message));
    }
    show(found);
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per failed request, as it arrives
  useEffect(() => {
    if (options.error) fromApi(options.error);
  }, [options.error]);

  const input = (k: K) => {
    known.current.add(k);
    const e = errorOf(k);
    return {
      id: idOf(k),
      'aria-invalid': e !== undefined,
      'aria-describedby': e !== undefined ? `${idOf(k)}-error` : undefined,
    };
  };
  const changed = (k: K) => {
    setShown((m) => {
      const under = [...m.keys()].filter((x) => x === k || x.startsWith(`${k}.`));
      if (under.length === 0) return m;
      const next = new Map(m);
      for (const x of under) next.delete(x);
      return next;
    });
    setBad((b) => b.filter((f) => f.id !== idOf(k) && !f.id.startsWith(`${idOf(k)}.`)));
  };

  return {
    /** The id and ARIA wiring of field `k`'s input (spread it on the input). */
    input,
    /** `input(k)` with an onChange that sets the value and lets the field's problem go. */
    bind: (k: K, set: (value: string) => void) => ({
      ...input(k),
      onChange: (e: { target: { value: string } }) => {
        set(e.target.value);
        changed(k);
      },
    }),
    /** Field `k`'s problem, or undefined; render it with <FieldError> under the input. */
    error: errorOf,
    /** The id of field `k`'s problem, which its input is described by. */
    errorId: (k: K) => `${idOf(k)}-error`,
    /** The field ids that need attention after the last submit, with their labels (the summary). */
    bad,
    /**
     * On submit, with every problem the form finds itself: shows them, focuses the first. True when
     * there is none and the request may go.
     */
    check: (problems: ReadonlyMap<K, string>): boolean => {
      const all = new Map([...live, ...problems]);
      show(all);
      return all.size === 0;
    },
    /** On a failed request: each problem the API names by path goes under its field, the first focused. */
    fromApi,
    /**
     * The request's error when it still needs saying below the form: not when every problem it
     * names is shown on its field.
     */
    unplaced: (err: unknown) => {
      const details = detailsOf(err);
      return details.length > 0 && details.every((d) => landOn(d.path) !== undefined) ? undefined : err;
    },
    /** The user changed field `k`: its problems (and those of its parts, `k.…`) go. */
    changed,
  };
}

export type FieldErrors<K extends string = string> = ReturnType<typeof useFieldErrors<K>>;
