import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import type { ConfigInput } from '../../src/config/config.ts';
import { stores } from '../helpers/server.ts';
import { bootOn, call, eventually, failNextAgentRead, persistentStore, sse } from './helpers.ts';

/**
 * COLLABORATIVE agents pause before tools marked requires_approval: the run goes to input_required,
 * its stream shows approval_required, and it resumes on approve or deny (the model sees the
 * reason). The pause is in the store, so it survives closing the server and starting a new one.
 */
for (const store of stores) {
  describe(`approval on ${store}`, () => {
    let dir: string;
    let storeConfig: ConfigInput['store'];
    let drop = async () => {};
    let app: App;
    let url: string;
    let key: string;
    let agentId: string;
    const config = () => ({ store: storeConfig, runtime: { workspaces_dir: path.join(dir, 'ws') } });

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-approval-'));
      ({ config: storeConfig, drop } = await persistentStore(store, dir));
      ({ app, url } = await bootOn(config()));
      key = app.adminKey!;
      const agent = await call(url, key, 'POST', '/v1/agents', {
        name: 'careful',
        model: 'mock/careful',
        mode: 'COLLABORATIVE',
        tools: ['write_file', 'read_file', 'calculator'],
      });
      agentId = agent.body.id;
    });
    after(async () => {
      await app.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Scripts a turn that writes a file and asks for the calculator at once, then starts the chat. */
    async function pausedChat(file: string, writeLast = false) {
      const calls = [
        { name: 'write_file', arguments: { path: file, content: 'approved content' } },
        { name: 'calculator', arguments: { expression: '2 + 2' } },
      ];
      app.services.models.mock.script('careful', [{ tool_calls: writeLast ? calls.reverse() : calls }]);
      const read = await sse(`${url}/v1/agents/${agentId}/chat`, {
        key,
        body: { message: `write ${file}` },
        stop: (e) => e.event === 'approval_required',
      });
      const runId = read.events[0]!.data.run_id as string;
      return { read, runId, sessionId: read.events[0]!.data.session_id as string };
    }

    it('pauses before a tool that needs approval, and resumes on approve', async () => {
      const { read, runId, sessionId } = await pausedChat('first.txt');
      const types = read.events.map((e) => e.event);
      assert.deepEqual(types, ['session_start', 'system', 'tool_call', 'tool_call', 'approval_required']);
      assert.deepEqual(
        read.events.at(-1)!.data.tool_calls.map((c: { name: string }) => c.name),
        ['write_file'],
        'only the tool that needs approval is listed',
      );
      const run = await call(url, key, 'GET', `/v1/runs/${runId}`);
      assert.equal(run.body.status, 'input_required');
      assert.deepEqual(
        run.body.pending_tool_calls.map((c: { name: string }) => c.name),
        ['write_file', 'calculator'],
      );
      const workspace = path.join(dir, 'ws', app.defaultTenantId, sessionId);
      assert.equal(existsSync(path.join(workspace, 'first.txt')), false, 'nothing ran before approval');

      // Non-streaming chats that pause say so.
      const approve = await call(url, key, 'POST', `/v1/runs/${runId}/approve`);
      assert.equal(approve.status, 200, JSON.stringify(approve.body));
      assert.equal(approve.body.status, 'running');
      const rest = await sse(`${url}/v1/runs/${runId}/stream`, {
        key,
        headers: { 'last-event-id': read.events.at(-1)!.id },
      });
      const restTypes = rest.events.map((e) => e.event);
      assert.equal(restTypes[0], 'approval_granted');
      assert.deepEqual(restTypes.filter((t) => t === 'tool_result').length, 2);
      assert.deepEqual(restTypes.slice(-2), ['result', 'session_end']);
      assert.ok(rest.done);
      assert.equal(readFileSync(path.join(workspace, 'first.txt'), 'utf8'), 'approved content');
      const done = await call(url, key, 'GET', `/v1/runs/${runId}`);
      assert.equal(done.body.status, 'completed');
      assert.equal(done.body.model_calls, 2);
      assert.equal((await call(url, key, 'POST', `/v1/runs/${runId}/approve`)).status, 409);
    });

    it('passes a denial and its reason to the model, and runs nothing that needed approval', async () => {
      // The mock model reports the last tool result it got: the write_file one, here.
      const { runId, sessionId } = await pausedChat('denied.txt', true);
      const deny = await call(url, key, 'POST', `/v1/runs/${runId}/deny`, { reason: 'not in production' });
      assert.equal(deny.status, 200);
      const done = await eventually(async () => {
        const r = await call(url, key, 'GET', `/v1/runs/${runId}`);
        return r.body.status === 'running' ? undefined : r.body;
      });
      assert.equal(done.status, 'completed');
      const tools = done.steps.filter((st: { kind: string }) => st.kind === 'tool');
      assert.equal(
        tools.find((t: { name: string }) => t.name === 'write_file').error,
        'the user denied this tool call: not in production',
      );
      assert.equal(
        tools.find((t: { name: string }) => t.name === 'calculator').output,
        '4',
        'the other call ran',
      );
      assert.match(done.output, /the user denied this tool call: not in production/);
      assert.equal(existsSync(path.join(dir, 'ws', app.defaultTenantId, sessionId, 'denied.txt')), false);
    });

    it('leaves a run waiting when its agent cannot be read at approval, and the retry resumes it', async () => {
      const { runId } = await pausedChat('retried.txt');
      failNextAgentRead(app);
      const refused = await call(url, key, 'POST', `/v1/runs/${runId}/approve`);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      const waiting = await call(url, key, 'GET', `/v1/runs/${runId}`);
      assert.equal(waiting.body.status, 'input_required', 'still waiting, not failed as agent_gone');
      const approve = await call(url, key, 'POST', `/v1/runs/${runId}/approve`);
      assert.equal(approve.status, 200, JSON.stringify(approve.body));
      const done = await eventually(async () => {
        const r = await call(url, key, 'GET', `/v1/runs/${runId}`);
        return r.body.status === 'running' ? undefined : r.body;
      });
      assert.equal(done.status, 'completed');
    });

    it('answers stream:false with input_required and the calls that wait', async () => {
      app.services.models.mock.script('careful', [
        { tool_calls: [{ name: 'write_file', arguments: { path: 'x.txt', content: 'x' } }] },
      ]);
      const res = await call(url, key, 'POST', `/v1/agents/${agentId}/chat`, {
        message: 'write x',
        stream: false,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'input_required');
      assert.deepEqual(res.body.pending_tool_calls, [
        {
          id: res.body.pending_tool_calls[0].id,
          name: 'write_file',
          arguments: { path: 'x.txt', content: 'x' },
        },
      ]);
      const cancel = await call(url, key, 'POST', `/v1/runs/${res.body.run_id}/cancel`);
      assert.equal(cancel.body.status, 'cancelled');
      // The session goes on; the call that never ran is answered as such in the model's history.
      const next = await call(url, key, 'POST', `/v1/agents/${agentId}/chat`, {
        message: 'hello again',
        session_id: res.body.session_id,
        stream: false,
      });
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.equal(next.body.response.text, 'You said: hello again');
    });

    it('survives a restart while waiting: a new server on the same store resumes the run', async () => {
      const { read, runId, sessionId } = await pausedChat('after-restart.txt');
      await app.close();
      ({ app, url } = await bootOn(config()));
      assert.equal(app.adminKey, undefined, 'the same store: no new admin key');
      const waiting = await call(url, key, 'GET', `/v1/runs/${runId}`);
      assert.equal(waiting.body.status, 'input_required', 'a waiting run is not an orphan');
      // A client reconnects to the new server: the stream is replayed and followed from its id.
      const follower = sse(`${url}/v1/runs/${runId}/stream`, {
        key,
        headers: { 'last-event-id': read.events.at(-1)!.id },
      });
      const approve = await call(url, key, 'POST', `/v1/runs/${runId}/approve`);
      assert.equal(approve.status, 200, JSON.stringify(approve.body));
      const rest = await follower;
      assert.equal(rest.events[0]!.event, 'approval_granted');
      assert.deepEqual(
        rest.events.slice(-2).map((e) => e.event),
        ['result', 'session_end'],
      );
      assert.ok(rest.done);
      const file = path.join(dir, 'ws', app.defaultTenantId, sessionId, 'after-restart.txt');
      assert.equal(readFileSync(file, 'utf8'), 'approved content');
    });
  });
}
