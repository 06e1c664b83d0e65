import type { FieldErrors } from '../lib/field-errors';

/** Field `k`'s problem under its input, with the id the input is described by (lib/field-errors). */
export function FieldError<K extends string>({ form, k }: { form: FieldErrors<K>; k: K }) {
  const e = form.error(k);
  return e ? (
    <p id={form.errorId(k)} className="field-error">
      {e}
    </p>
  ) : null;
}

/**
 * What still needs attention after a submit, each field named and one click away (focus already
 * went to the first): "Check Name and Model before saving."
 */
export function FormProblems<K extends string>({
  form,
  before = 'before saving',
}: {
  form: FieldErrors<K>;
  before?: string;
}) {
  if (form.bad.length === 0) return null;
  return (
    <p role="alert" className="error">
      Check{' '}
      {form.bad.map((f, i) => (
        <span key={f.id}>
          {i === 0 ? '' : i === form.bad.length - 1 ? ' and ' : ', '}
          <a
            href={`#${f.id}`}
            onClick={(e) => {
              e.preventDefault();
              document.getElementById(f.id)?.focus();
            }}
          >
            {f.label}
          </a>
        </span>
      ))}{' '}
      {before}.
    </p>
  );
}
