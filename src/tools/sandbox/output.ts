/** Keeps at most `limit` bytes of a stream; the first byte past it calls `onOverflow` once. */
export class OutputCollector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(
    private readonly limit: number,
    private readonly onOverflow: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.truncated) return;
    const room = this.limit - this.size;
    if (chunk.length > room) {
      this.chunks.push(chunk.subarray(0, room));
      this.size = this.limit;
      this.truncated = true;
      this.onOverflow();
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** What was kept, as it came. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    const text = this.bytes().toString('utf8');
    return this.truncated ? `${text}\n[output truncated at ${this.limit} bytes]` : text;
  }
}
