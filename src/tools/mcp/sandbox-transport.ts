import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { SandboxProcess } from '../sandbox/bwrap.ts';

/**
 * The MCP stdio transport over a program running in a bwrap sandbox: newline-delimited JSON-RPC on
 * the sandboxed process's stdin and stdout (the SDK's own framing), instead of the SDK's
 * StdioClientTransport, which would spawn the command on the host.
 */
export class SandboxStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly buffer = new ReadBuffer();
  private closed = false;

  constructor(
    private readonly proc: SandboxProcess,
    private readonly destroy: () => Promise<void>,
  ) {}

  async start(): Promise<void> {
    this.proc.stdout.on('data', (chunk: Buffer) => {
      try {
        this.buffer.append(chunk);
      } catch (err) {
        // A message past the SDK's 10 MB line limit: the stream cannot be resynchronised.
        this.onerror?.(err as Error);
        void this.close();
        return;
      }
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (err) {
          // A line that is not JSON-RPC (a stray console.log): reported, the stream goes on.
          this.onerror?.(err as Error);
          continue;
        }
        if (message === null) break;
        this.onmessage?.(message);
      }
    });
    this.proc.exited.then((code) => {
      if (this.closed) return;
      const stderr = this.proc.stderr().trim();
      this.onerror?.(
        new Error(`the server exited (status ${code ?? 'killed'})${stderr ? `: ${stderr.slice(-500)}` : ''}`),
      );
      void this.close();
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the server has exited'));
    return new Promise((resolve, reject) => {
      this.proc.stdin.write(serializeMessage(message), (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    await this.destroy();
    this.onclose?.();
  }
}
