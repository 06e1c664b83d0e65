/** A timestamp column as the API shows it: UTC ISO-8601, or null for an empty column. */
export function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}
