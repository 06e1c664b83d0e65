import type { paths } from '../../lib/api';

type Body = NonNullable<paths['/v1/score-configs']['post']['requestBody']>['content']['application/json'];
export type Kind = Body['kind'];
export const kinds: Kind[] = ['numeric', 'categorical', 'boolean'];

/** The form as typed: numbers stay text until sent, so a half-typed one can be named on its field. */
export interface Draft {
  name: string;
  kind: Kind;
  description: string;
  min: string;
  max: string;
  categories: { label: string; value: string }[];
}

export const emptyDraft: Draft = {
  name: '',
  kind: 'numeric',
  description: '',
  min: '',
  max: '',
  categories: [
    { label: '', value: '1' },
    { label: '', value: '0' },
  ],
};

/** The server's rule for a score's name, and a config's (eval/scores/config-schema.ts `scoreName`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
const number = (s: string) => (s.trim() === '' ? undefined : Number(s.trim()));
const notNumber = (s: string) => s.trim() !== '' && !Number.isFinite(Number(s.trim()));

/** The page's own checks, by field (the API's paths: `min`, `categories.1.label`); the server checks again. */
export function problems(d: Draft): Map<string, string> {
  const p = new Map<string, string>();
  if (!d.name) p.set('name', 'Name the config (the name the scores it governs carry).');
  else if (!NAME.test(d.name))
    p.set('name', 'Letters, digits, ".", "_", ":" and "-", starting with a letter or digit (up to 100).');
  if (d.kind === 'numeric') {
    if (notNumber(d.min)) p.set('min', 'A number, or empty for no lower bound.');
    if (notNumber(d.max)) p.set('max', 'A number, or empty for no upper bound.');
    const [min, max] = [number(d.min), number(d.max)];
    if (!p.has('min') && !p.has('max') && min !== undefined && max !== undefined && min > max)
      p.set('max', 'Max must be at least min.');
  }
  if (d.kind === 'categorical') {
    if (d.categories.length < 2) p.set('categories', 'Two categories or more.');
    const seen = new Set<string>();
    d.categories.forEach((c, i) => {
      if (!c.label.trim()) p.set(`categories.${i}.label`, 'Name the category.');
      else if (seen.has(c.label.trim())) p.set(`categories.${i}.label`, 'Each category needs its own label.');
      seen.add(c.label.trim());
      if (c.value.trim() === '' || notNumber(c.value))
        p.set(`categories.${i}.value`, 'The number this category counts as.');
    });
  }
  return p;
}

/** The request for a draft that passed `problems`: only the kind's own values are sent. */
export function bodyOf(d: Draft): Body {
  const description = d.description.trim() ? { description: d.description.trim() } : {};
  const base = { name: d.name, kind: d.kind, ...description };
  if (d.kind === 'numeric') {
    const [min, max] = [number(d.min), number(d.max)];
    return { ...base, ...(min !== undefined && { min }), ...(max !== undefined && { max }) };
  }
  if (d.kind === 'categorical')
    return {
      ...base,
      categories: d.categories.map((c) => ({ label: c.label.trim(), value: Number(c.value) })),
    };
  return base;
}
