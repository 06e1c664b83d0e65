import { FieldError } from '../../components/FieldError';
import type { FieldErrors } from '../../lib/field-errors';
import type { Draft } from './draft';

type Category = Draft['categories'][number];

/** A categorical config's categories: a label and the number it counts as, each row its own fields. */
export function Categories({
  value,
  onChange,
  form,
}: {
  value: Category[];
  onChange: (v: Category[]) => void;
  form: FieldErrors;
}) {
  const put = (i: number, c: Partial<Category>, k: string) => {
    onChange(value.map((x, j) => (j === i ? { ...x, ...c } : x)));
    form.changed(k);
    form.changed('categories');
  };
  return (
    <>
      <fieldset {...form.input('categories')} tabIndex={-1}>
        <legend>Categories</legend>
        {value.map((c, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their place
          <div className="pair" key={i}>
            <div className="field">
              <label htmlFor={form.input(`categories.${i}.label`).id}>Category {i + 1} label</label>
              <input
                {...form.input(`categories.${i}.label`)}
                value={c.label}
                onChange={(e) => put(i, { label: e.target.value }, `categories.${i}.label`)}
              />
              <FieldError form={form} k={`categories.${i}.label`} />
            </div>
            <div className="field">
              <label htmlFor={form.input(`categories.${i}.value`).id}>Category {i + 1} value</label>
              <input
                {...form.input(`categories.${i}.value`)}
                inputMode="decimal"
                value={c.value}
                onChange={(e) => put(i, { value: e.target.value }, `categories.${i}.value`)}
              />
              <FieldError form={form} k={`categories.${i}.value`} />
            </div>
          </div>
        ))}
        <div className="actions">
          <button
            type="button"
            className="secondary"
            onClick={() => onChange([...value, { label: '', value: String(value.length) }])}
          >
            Add a category
          </button>
          {value.length > 2 ? (
            <button type="button" className="secondary" onClick={() => onChange(value.slice(0, -1))}>
              Remove category {value.length}
            </button>
          ) : null}
        </div>
      </fieldset>
      <FieldError form={form} k="categories" />
    </>
  );
}
