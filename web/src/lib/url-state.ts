import { useState } from 'react';
import { useSearchParams } from 'react-router';

/**
 * A page's state that matters (a filter, a view, the versions a diff compares) kept in its URL's
 * query, `?status=failed&view=board`: a reload, a link sent to someone and the back button all give
 * the same page. A value equal to `fallback` is left out of the URL; one outside `allowed` reads as
 * `fallback`. Changes replace the history entry (typing in a filter is not a page per key).
 */
export function useUrlState<T extends string = string>(
  key: string,
  fallback: NoInfer<T>,
  allowed?: readonly NoInfer<T>[],
): [T, (value: T) => void] {
  const [params, setParams] = useSearchParams();
  const raw = params.get(key);
  // The URL catches up a moment after a change (the router navigates in a transition): until it
  // does, the value just set is the one shown, so a control reflects its change at once (a
  // controlled radio otherwise snaps back for that moment). Any change of the URL ends it.
  const [pending, setPending] = useState<{ raw: string | null; next: T }>();
  const fromUrl = raw !== null && (!allowed || allowed.includes(raw as T)) ? (raw as T) : fallback;
  const value = pending && pending.raw === raw ? pending.next : fromUrl;
  const set = (next: T) => {
    setPending({ raw, next });
    setParams(
      (p) => {
        const out = new URLSearchParams(p);
        if (next === fallback) out.delete(key);
        else out.set(key, next);
        return out;
      },
      { replace: true },
    );
  };
  return [value, set];
}
