/**
 * `POST /run` is Zahara's runtime and PAGI's alias of `/plan`; one family serves it
 * (`compat.run_owner`). A client of the other family that sends its own body there is told so, with
 * the setting named and where its body goes, instead of the owner's validation error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';

const pagiBody = { prompt: 'Say hello', session_id: 'desk', resources: [] };
const zaharaBody = { task: 'Say hello', parameters: {} };

describe('POST /run owned by Zahara (run_owner unset, Zahara on), PAGI on too', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', { auth: { mode: 'dev' }, compat: { pagi: true, zahara: true } });
  });
  after(() => s.close());

  it("tells a PAGI body that /run is Zahara's, which setting says so, and that /plan takes it", async () => {
    const res = await s.request('POST', '/run', { key: null, body: pagiBody });
    assert.equal(res.status, 400, res.text);
    // Zahara's error body, on Zahara's route.
    assert.equal(res.body.service, 'agentry');
    assert.equal(typeof res.body.error, 'string');
    assert.match(res.body.error, /PAGI's \{prompt, session_id, resources\}/);
    assert.match(res.body.error, /POST \/run is Zahara's runtime here \(compat\.run_owner unset/);
    assert.match(res.body.error, /POST \/plan/);
    assert.match(res.body.error, /compat\.run_owner: pagi \(AGENTRY_COMPAT_RUN_OWNER=pagi\)/);
    const plan = await s.request('POST', '/plan', { key: null, body: pagiBody });
    assert.equal(plan.status, 200, plan.text);
  });

  it("still runs Zahara's own body, and answers any other body with its own validation error", async () => {
    const ok = await s.request('POST', '/run', { key: null, body: zaharaBody });
    assert.equal(ok.status, 200, ok.text);
    const neither = await s.request('POST', '/run', { key: null, body: { prompt: 7 } });
    assert.equal(neither.status, 400, neither.text);
    assert.match(neither.body.error, /^invalid body: task/);
  });
});

describe('POST /run given to PAGI (run_owner: pagi), Zahara on too', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', {
      auth: { mode: 'dev' },
      compat: { pagi: true, zahara: true, run_owner: 'pagi' },
    });
  });
  after(() => s.close());

  it("tells a Zahara body that /run is PAGI's, which setting says so, and that /execute takes it", async () => {
    const res = await s.request('POST', '/run', { key: null, body: zaharaBody });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error.code, 'validation_error');
    assert.match(res.body.error.message, /Zahara's \{task, parameters\}/);
    assert.match(
      res.body.error.message,
      /POST \/run is PAGI's alias of \/plan here \(compat\.run_owner: pagi\)/,
    );
    assert.match(res.body.error.message, /POST \/execute/);
    assert.match(res.body.error.message, /AGENTRY_COMPAT_RUN_OWNER=zahara/);
    assert.equal(res.body.error.details[0].setting, 'compat.run_owner');
    assert.ok(res.body.request_id);
    const ok = await s.request('POST', '/run', { key: null, body: pagiBody });
    assert.equal(ok.status, 200, ok.text);
  });
});

describe("POST /run PAGI's because Zahara is off", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', { auth: { mode: 'dev' }, compat: { pagi: true, zahara: false } });
  });
  after(() => s.close());

  it("says Zahara's routes are off and names their switch", async () => {
    const res = await s.request('POST', '/run', { key: null, body: zaharaBody });
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error.message, /PAGI, as Zahara is off/);
    assert.match(res.body.error.message, /compat\.zahara, AGENTRY_COMPAT_ZAHARA/);
  });
});
