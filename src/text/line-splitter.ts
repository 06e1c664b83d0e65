/**
 * Text pushed piece by piece as a body arrives, handed on a line at a time when its newline comes.
 * The pieces of a line not yet ended are kept apart and joined once: appending each piece to one
 * string would copy a long line again for every piece of it.
 */
export class LineSplitter {
  private pending: string[] = [];

  constructor(private readonly onLine: (line: string) => void) {}

  push(text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.pending.push(text.slice(start, nl));
      this.onLine(this.pending.join(''));
      this.pending = [];
      start = nl + 1;
    }
    if (start < text.length) this.pending.push(text.slice(start));
  }

  /** The text has ended: its last line, when it had no newline after it. */
  end(): void {
    if (this.pending.length === 0) return;
    const last = this.pending.join('');
    this.pending = [];
    this.onLine(last);
  }
}
