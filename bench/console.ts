/**
 * The web console in Chromium against the embedded server, cold cache, median of --rounds, each figure
 * beside its floor from the same run: first page JS on the wire, as the server sends it precompressed
 * (floor: React alone, minified and gzipped; goal ≤ 110 kB);
 * navigation → overview interactive (floor: a bare page's load; goal ≤ 1 s); navigation → a 500-step
 * run's waterfall drawn (goal ≤ 500 ms; floor: a bare page's load plus the same rows made with
 * createElement), its drawing part against those rows alone. With --tasks N (the 10,000): the
 * task list over N tasks, navigation → first rows (floor: a bare page's load), the rows in the DOM
 * (virtualized), and the p95 and longest frame while scrolling 400 px a frame (floor: one 60 Hz frame).
 *
 *   node --import tsx bench/console.ts [--quick] [--rounds 5] [--tasks 10000]
 */
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openSignedIn } from '../test/helpers/browser.ts';
import { benchApp, quantile, r3 } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    tasks: { type: 'string', default: '0' },
    quick: { type: 'boolean', default: false },
  },
});
const STEPS = 500;
const TASKS = Number(values.tasks);
const { app, close } = await benchApp('pglite');
const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
const browser = await launchBrowser();
const page = async (b: Browser): Promise<Page> => (await b.newContext({ bypassCSP: true })).newPage();
const untilRaf = async (p: Page, ready: string) =>
  (await (
    await p.waitForFunction(`(${ready}) && performance.now()`, null, { polling: 'raf' })
  ).jsonValue()) as number;
try {
  const runId = await seedRun();
  if (TASKS > 0) await seedTasks(TASKS);
  const js = await firstPageJs();
  const contents = `import { createRoot } from 'react-dom/client'; import { createElement } from 'react';
    createRoot(document.body).render(createElement('h1', null, 'x'));`;
  const define = { 'process.env.NODE_ENV': '"production"' };
  const stdin = { contents, resolveDir: process.cwd() };
  const react = await build({ stdin, bundle: true, minify: true, write: false, format: 'esm', define });
  const floorJs = gzipSync(react.outputFiles[0]!.contents).length;
  const m: Record<string, number[]> = {};
  const push = (o: Record<string, number>) => {
    for (const [k, v] of Object.entries(o)) m[k] = [...(m[k] ?? []), v];
  };
  for (let i = 0; i < Number(values.rounds ?? (values.quick ? 1 : 5)); i++) {
    const p = await page(browser);
    let requests = 0;
    p.on('request', () => requests++);
    await openSignedIn(p, url, app.adminKey!, '/');
    push({ overview: await untilRaf(p, "document.querySelector('[data-overall]')") });
    push({ requests });
    await p.context().close();
    const bare = await page(browser);
    await bare.goto(`${url}/health/live`);
    const loaded = "performance.getEntriesByType('navigation')[0].loadEventEnd";
    push({ bare: (await bare.evaluate(loaded)) as number });
    await bare.context().close();
    push(await waterfall(runId));
    if (TASKS > 0) push(await taskList());
  }
  const med = (k: string) => r3(quantile(m[k]!, 0.5));
  const rows = [
    ['first page JS on the wire, kB', r3(js / 1000), r3(floorJs / 1000), 110],
    ['overview interactive, ms', med('overview'), med('bare'), 1000],
    ['  requests until then (sign-in included)', med('requests'), '', ''],
    [`waterfall ${STEPS} steps, ms`, med('total'), r3(med('bare') + med('floor')), 500],
    ['  of which drawing after the trace, ms', med('render'), med('floor'), ''],
    ...(TASKS > 0
      ? ([
          [`task list of ${TASKS}: first rows, ms`, med('list_first'), med('bare'), ''],
          [`  rows in the DOM (of ${TASKS})`, Math.max(...m.dom_rows!), '', ''],
          ['  p95 frame while scrolling, ms', med('p95_frame'), r3(1000 / 60), ''],
          ['  longest frame while scrolling, ms', med('longest_frame'), r3(1000 / 60), ''],
        ] as const)
      : []),
  ] as const;
  console.log('figure | console | floor | ratio | goal');
  const ratios: Record<string, number> = {};
  for (const [name, v, f, goal] of rows) {
    console.log(`${name} | ${v} | ${f} | ${typeof f === 'number' ? r3(v / f) : ''} | ${goal}`);
    if (typeof f === 'number') ratios[name.trim().replace(/\W+/g, '_').replace(/_$/, '')] = r3(v / f);
  }
  const medians = Object.fromEntries(
    Object.keys(m).map((k) => [k === 'dom_rows' || k === 'requests' ? k : `${k}_ms`, med(k)]),
  );
  console.log(
    JSON.stringify({
      bench: 'console',
      js_wire_bytes: js,
      react_alone_gzip_bytes: floorJs,
      ...medians,
      ratios,
    }),
  );
} finally {
  await browser.close();
  await close();
}

/** The first page's JavaScript as it travels: the encoded bytes of each script response (brotli here). */
async function firstPageJs(): Promise<number> {
  const p = await page(browser);
  const scripts: Promise<number>[] = [];
  p.on('requestfinished', (r) => {
    if (r.resourceType() === 'script') scripts.push(r.sizes().then((z) => z.responseBodySize));
  });
  await openSignedIn(p, url, app.adminKey!, '/');
  await p.waitForFunction("document.querySelector('[data-overall]')");
  await p.waitForLoadState('networkidle');
  await p.context().close();
  return (await Promise.all(scripts)).reduce((a, b) => a + b, 0);
}

/** The task list over TASKS tasks: first rows, rows in the DOM, frames while scrolling through it. */
async function taskList() {
  const p = await page(browser);
  await openSignedIn(p, url, app.adminKey!, '/tasks');
  const first = await untilRaf(p, "document.querySelector('.vrow')");
  await p.waitForLoadState('networkidle');
  // 400 px a frame for 120 frames: past the first pages, so more are fetched while it scrolls.
  const { gaps, rows } = (await p.evaluate(`new Promise((done) => {
    const list = document.querySelector('.vlist');
    let last = performance.now(), rows = 0, n = 0;
    const gaps = [];
    const step = (now) => {
      gaps.push(now - last);
      last = now;
      rows = Math.max(rows, document.querySelectorAll('.vrow').length);
      list.scrollTop += 400;
      if (++n < 120) requestAnimationFrame(step);
      else done({ gaps, rows });
    };
    requestAnimationFrame((now) => { last = now; requestAnimationFrame(step); });
  })`)) as { gaps: number[]; rows: number };
  await p.context().close();
  return {
    list_first: first,
    dom_rows: rows,
    p95_frame: quantile(gaps, 0.95),
    longest_frame: Math.max(...gaps),
  };
}

/** TASKS finished tasks of the waterfall's agent, written straight into the store. */
async function seedTasks(n: number): Promise<void> {
  await app.db.query(
    `insert into tasks (id, tenant_id, agent_id, task_type, status, title, completed_at)
     select gen_random_uuid(), $1, a.id, 'default', 'completed', 'task ' || i, now()
       from generate_series(1, $2) i, agents a where a.name = 'bench-waterfall'`,
    [app.defaultTenantId, n],
  );
}

async function waterfall(runId: string) {
  const p = await page(browser);
  await openSignedIn(p, url, app.adminKey!, `/runs/${runId}`);
  const total = await untilRaf(p, `document.querySelectorAll('.waterfall li').length === ${STEPS}`);
  const [before, traceEnd] = (await p.evaluate(
    "(e => [e.startTime, e.responseEnd])(performance.getEntriesByType('resource').find((e) => e.name.endsWith('/trace')))",
  )) as [number, number];
  // The floor: the same rows (a label and a positioned bar each) built with the DOM API, laid out.
  const floor = (await p.evaluate(`(() => {
    const t0 = performance.now();
    const ol = document.createElement('ol');
    for (let i = 0; i < ${STEPS}; i++) {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.textContent = 'tool · step ' + i;
      const bar = document.createElement('span');
      bar.style.cssText = 'position:absolute;left:' + (i / 5) + '%;width:0.2%;height:8px';
      li.append(label, bar);
      ol.append(li);
    }
    document.body.append(ol);
    ol.getBoundingClientRect();
    return performance.now() - t0;
  })()`)) as number;
  await p.context().close();
  return { total, before, trace: traceEnd - before, render: total - traceEnd, floor };
}

/** A finished run of STEPS steps (model and tool calls in turn) written straight into the store. */
async function seedRun(): Promise<string> {
  const db = app.db;
  const tenant = app.defaultTenantId;
  const [agent] = await db.query<{ id: string }>(
    `insert into agents (id, tenant_id, name, model) values (gen_random_uuid(), $1, 'bench-waterfall', 'mock/default') returning id`,
    [tenant],
  );
  const [session] = await db.query<{ id: string }>(
    'insert into sessions (id, tenant_id, agent_id) values (gen_random_uuid(), $1, $2) returning id',
    [tenant, agent!.id],
  );
  const start = new Date(Date.now() - STEPS * 20).toISOString();
  const [run] = await db.query<{ id: string }>(
    `insert into runs (id, tenant_id, session_id, agent_id, status, input, model_calls, step_count, created_at, started_at, completed_at)
     values (gen_random_uuid(), $1, $2, $3, 'completed', 'a long run', $4, $5, $6, $6, now()) returning id`,
    [tenant, session!.id, agent!.id, STEPS / 2, STEPS, start],
  );
  await db.query(
    `insert into run_steps (run_id, idx, tenant_id, kind, name, tool_call_id, input, output, usage, started_at, duration_ms, cost)
     select $1, i, $2, case when i % 2 = 0 then 'model' else 'tool' end,
            case when i % 2 = 0 then 'mock/default' else 'calculator' end,
            case when i % 2 = 0 then null else 'call_' || i end,
            jsonb_build_object('expression', i || ' + 1'), jsonb_build_object('result', i + 1),
            case when i % 2 = 0 then '{"prompt_tokens":40,"completion_tokens":8,"total_tokens":48}'::jsonb end,
            $3::timestamptz + make_interval(secs => i * 0.02), 15, case when i % 2 = 0 then 0.0001 end
       from generate_series(0, $4 - 1) i`,
    [run!.id, tenant, start, STEPS],
  );
  return run!.id;
}
