/** Today's UTC day (YYYY-MM-DD), as the usage API counts and takes it. */
export function utcDay(): string {
  return new Date().toISOString().slice(0, 10);
}
