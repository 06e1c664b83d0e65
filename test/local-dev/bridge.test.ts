import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Bridge, BridgeError } from '../../src/runtime/pool/local-dev/bridge.ts';
import { tempDir } from '../cli/run-cli.ts';
import { eventually } from '../helpers/eventually.ts';

/** A client speaking the harness's side of the protocol: one JSON object per line. */
async function connect(socketPath: string) {
  const socket = net.connect(socketPath);
  await once(socket, 'connect');
  socket.setEncoding('utf8');
  const lines: Array<Record<string, unknown>> = [];
  let buffered = '';
  let closed = false;
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      lines.push(JSON.parse(buffered.slice(0, nl)));
      buffered = buffered.slice(nl + 1);
    }
  });
  const ended = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      resolve();
    }),
  );
  socket.on('error', () => {});
  return {
    send: (m: unknown) => socket.write(`${JSON.stringify(m)}\n`),
    /** The reply with this id, once it arrived. */
    reply: (id: number) =>
      eventually(
        async () => {
          if (closed && !lines.some((l) => l.id === id)) throw new Error(`closed before reply ${id}`);
          return lines.find((l) => l.id === id);
        },
        15_000,
        `reply ${id}`,
      ),
    ended,
    end: () => socket.end(),
  };
}

describe('the bridge between a sandboxed handle and the host', () => {
  let dir: ReturnType<typeof tempDir>;
  const calls: unknown[] = [];
  const methods = {
    echo: async (p: unknown) => {
      calls.push(p);
      return p;
    },
    refuse: async () => {
      throw new BridgeError('not for you');
    },
    crash: async () => {
      throw new Error('secret host detail at /root/x');
    },
  };

  before(() => {
    dir = tempDir('agentry-bridge-');
  });
  after(() => dir.remove());

  test('answers calls after the token, keeps refusals and hides internal errors, records the end', async () => {
    const socketPath = path.join(dir.dir, 'a.sock');
    const bridge = await Bridge.listen(socketPath, 'the-token', methods);
    try {
      const c = await connect(socketPath);
      c.send({ hello: 'the-token' });
      c.send({ id: 1, method: 'echo', params: { a: 1 } });
      c.send({ id: 2, method: 'refuse', params: {} });
      c.send({ id: 3, method: 'crash', params: {} });
      c.send({ id: 4, method: 'toString', params: {} });
      assert.deepEqual(await c.reply(1), { id: 1, result: { a: 1 } });
      assert.deepEqual(await c.reply(2), { id: 2, error: 'not for you' });
      assert.deepEqual(await c.reply(3), { id: 3, error: 'internal error in Agentry' });
      assert.deepEqual(await c.reply(4), { id: 4, error: 'unknown method toString' });
      assert.equal(bridge.ended, undefined);
      c.send({ id: 5, method: 'end', params: { output: { answer: 42 } } });
      await c.reply(5);
      assert.deepEqual(bridge.ended, { output: { answer: 42 } });

      // One connection per run: a second one is closed at once.
      const second = await connect(socketPath);
      await second.ended;
      c.end();
    } finally {
      await bridge.close();
    }
  });

  test('a wrong token closes the connection before any method runs', async () => {
    const socketPath = path.join(dir.dir, 'b.sock');
    const bridge = await Bridge.listen(socketPath, 'the-token', methods);
    try {
      const before = calls.length;
      const c = await connect(socketPath);
      c.send({ hello: 'the-tokeX' });
      c.send({ id: 1, method: 'echo', params: 'x' });
      await c.ended;
      assert.equal(calls.length, before);
      assert.equal(bridge.ended, undefined);
    } finally {
      await bridge.close();
    }
  });
});
