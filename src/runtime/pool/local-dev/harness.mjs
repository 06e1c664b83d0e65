// Runs inside a local-dev agent's sandbox as `node /run/agentry/harness.mjs check|run` (plain
// JavaScript: the sandbox has Node from the read-only /usr, nothing else). It loads the agent's
// bundle (/run/agentry/agent.mjs) and checks it exports `handle`. In `run` mode it then calls
// handle(input, ctx), where ctx.model and ctx.tools are calls to the host over the bridge socket
// (/run/agentry/bridge.sock, newline-delimited JSON): the sandbox itself has no network.
//
// stdout carries only this harness's report (check mode); the agent's console goes to stderr.
import net from 'node:net';
import { format } from 'node:util';

const DIR = '/run/agentry';
const mode = process.argv[2];

for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[level] = (...args) => process.stderr.write(`${format(...args)}\n`);
}

const describe = (err) => (err instanceof Error ? err.stack || `${err.name}: ${err.message}` : String(err));
const report = (value) =>
  new Promise((resolve) => process.stdout.write(`${JSON.stringify(value)}\n`, () => resolve()));

let handle;
try {
  const mod = await import(`${DIR}/agent.mjs`);
  handle = mod.handle ?? mod.default?.handle;
  if (typeof handle !== 'function') {
    const names = Object.keys(mod).join(', ') || 'nothing';
    await report({
      ok: false,
      error: `the bundle does not export a function named handle (it exports ${names})`,
    });
    process.exit(1);
  }
} catch (err) {
  await report({ ok: false, error: describe(err) });
  process.exit(1);
}
if (mode === 'check') {
  await report({ ok: true });
  process.exit(0);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { token, input, info } = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const controller = new AbortController();
const pending = new Map();
let seq = 0;
let buffered = '';
const socket = net.connect(`${DIR}/bridge.sock`);
socket.setEncoding('utf8');
socket.on('error', () => {});
socket.on('data', (chunk) => {
  buffered += chunk;
  for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
    const message = JSON.parse(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
    const waiter = pending.get(message.id);
    if (!waiter) continue;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  }
});
socket.on('close', () => {
  const gone = new Error('the connection to Agentry closed');
  controller.abort(gone);
  for (const waiter of pending.values()) waiter.reject(gone);
  pending.clear();
});

const send = (message) => socket.write(`${JSON.stringify(message)}\n`);
const call = (method, params) =>
  new Promise((resolve, reject) => {
    const id = ++seq;
    pending.set(id, { resolve, reject });
    send({ id, method, params });
  });

send({ hello: token });
const ctx = Object.freeze({
  model: Object.freeze({
    chat: (messages, options = {}) =>
      call('model.chat', {
        ...options,
        messages: typeof messages === 'string' ? [{ role: 'user', content: messages }] : messages,
      }),
  }),
  tools: Object.freeze({
    call: (name, args = {}) => call('tools.call', { name, args }),
    list: () => call('tools.list', {}),
  }),
  agent: info.agent,
  session: info.session,
  run: info.run,
  ...(info.task ? { task: info.task } : {}),
  signal: controller.signal,
});

try {
  const output = await handle(input, ctx);
  await call('end', { output: output === undefined ? null : output });
} catch (err) {
  // The host may be gone (the run cancelled, the sandbox stopping): nothing is left to tell.
  await call('end', { error: describe(err) }).catch(() => {});
}
socket.end();
process.exit(0);
