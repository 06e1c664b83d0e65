/**
 * The web console in the system's Chromium against the embedded server (PGlite in memory), each
 * figure beside its floor from the same run:
 * 1. gzip size of the JS the first page loads (goal ≤ 250 kB); floor: React alone, minified and
 *    bundled by esbuild (the least JS any React page ships).
 * 2. navigation → the overview interactive (its heading drawn, its first query answered: `/health`'s
 *    `[data-overall]`), goal ≤ 1 s; floor: navigation → load of a bare page of the same server.
 * 3. the waterfall of a 500-step run (written into the store directly): navigation → 500 bars drawn
 *    (goal ≤ 500 ms), and its part after the trace arrived; floor of that part: the same 500 rows
 *    made with createElement in the same page.
 * 4. the task list with 10,000 tasks: navigation → first rows, the rows in the DOM (virtualized), and
 *    the p95 and longest frame while scrolling 400 px a frame (pages fetched meanwhile); floor: one 60 Hz frame.
 * Cold cache for every navigation (a fresh browser context). Median of --rounds.
 *
 *   node --import tsx bench/console.ts [--rounds 5]
 */
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openSignedIn } from '../test/helpers/browser.ts';
import { benchApp, quantile, r3 } from './bench-app.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const STEPS = 500;
const TASKS = 10_000;

const { app, close } = await benchApp('pglite');
const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
const browser = await launchBrowser();
try {
  const runId = await seedRun(STEPS);
  await seedTasks(TASKS);
  const js = await firstPageJs(browser);
  const floorJs = await reactAloneGzip();
  const overview: number[] = [];
  const bare: number[] = [];
  const waterfall: number[] = [];
  const render: number[] = [];
  const renderFloor: number[] = [];
  const traceApi: number[] = [];
  const listFirst: number[] = [];
  const listFrame: number[] = [];
  const listP95: number[] = [];
  let domRows = 0;
  const beforeTrace: number[] = [];
  for (let i = 0; i < rounds; i++) {
    overview.push(await timed(browser, '/', "document.querySelector('[data-overall]')"));
    bare.push(await bareLoad(browser));
    const w = await waterfallTimes(browser, runId);
    waterfall.push(w.total);
    render.push(w.render);
    renderFloor.push(w.floor);
    traceApi.push(w.trace);
    const l = await taskList(browser);
    listFirst.push(l.first);
    listFrame.push(l.longestFrame);
    listP95.push(l.p95Frame);
    domRows = Math.max(domRows, l.domRows);
    beforeTrace.push(w.before);
  }
  const med = (xs: number[]) => r3(quantile(xs, 0.5));
  const rows = [
    ['first page JS, gzip kB', r3(js / 1000), r3(floorJs / 1000), 250],
    ['overview interactive, ms', med(overview), med(bare), 1000],
    [`waterfall ${STEPS} steps, ms`, med(waterfall), '', 500],
    ['  of which before the trace request (page, sign-in, chunk), ms', med(beforeTrace), '', ''],
    ['  of which the trace request, ms', med(traceApi), '', ''],
    ['  of which render after the trace, ms', med(render), med(renderFloor), ''],
    [`task list of ${TASKS}: first rows, ms`, med(listFirst), '', ''],
    [`  rows in the DOM (of ${TASKS})`, domRows, '', ''],
    ['  p95 frame while scrolling, ms', med(listP95), r3(1000 / 60), ''],
    ['  longest frame while scrolling, ms', med(listFrame), r3(1000 / 60), ''],
  ] as const;
  console.log('figure | console | floor | ratio | goal');
  for (const [name, v, f, goal] of rows) {
    console.log(`${name} | ${v} | ${f} | ${typeof f === 'number' ? r3(v / f) : ''} | ${goal}`);
  }
  console.log(
    JSON.stringify({
      js_gzip_bytes: js,
      react_alone_gzip_bytes: floorJs,
      overview_ms: med(overview),
      bare_page_ms: med(bare),
      waterfall_ms: med(waterfall),
      waterfall_before_trace_ms: med(beforeTrace),
      waterfall_trace_request_ms: med(traceApi),
      waterfall_render_ms: med(render),
      waterfall_render_floor_ms: med(renderFloor),
      task_list_first_rows_ms: med(listFirst),
      task_list_dom_rows: domRows,
      task_list_p95_frame_ms: med(listP95),
      task_list_longest_frame_ms: med(listFrame),
    }),
  );
} finally {
  await browser.close();
  await close();
}

/** A page in a fresh context (cold cache). CSP is bypassed only so the bench's string probes may run. */
async function page(b: Browser): Promise<Page> {
  return (await b.newContext({ bypassCSP: true })).newPage();
}

/** The gzip size of every script the first page (the overview) loads. */
async function firstPageJs(b: Browser): Promise<number> {
  const p = await page(b);
  const scripts: Promise<number>[] = [];
  p.on('response', (r) => {
    if (r.request().resourceType() === 'script') {
      scripts.push(r.body().then((body) => gzipSync(body).length));
    }
  });
  await openSignedIn(p, url, app.adminKey!, '/');
  await p.waitForFunction("document.querySelector('[data-overall]')");
  await p.waitForLoadState('networkidle');
  const total = (await Promise.all(scripts)).reduce((a, b) => a + b, 0);
  await p.context().close();
  return total;
}

async function reactAloneGzip(): Promise<number> {
  const out = await build({
    stdin: {
      contents:
        "import { createRoot } from 'react-dom/client'; import { createElement } from 'react'; createRoot(document.body).render(createElement('h1', null, 'x'));",
      resolveDir: process.cwd(),
    },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  return gzipSync(out.outputFiles[0]!.contents).length;
}

/** Navigation start → the frame where `ready` first holds, in the page's own clock. */
async function timed(b: Browser, path: string, ready: string): Promise<number> {
  const p = await page(b);
  await openSignedIn(p, url, app.adminKey!, path);
  const ms = (await (
    await p.waitForFunction(`(${ready}) && performance.now()`, null, { polling: 'raf' })
  ).jsonValue()) as number;
  await p.context().close();
  return ms;
}

async function bareLoad(b: Browser): Promise<number> {
  const p = await page(b);
  await p.goto(`${url}/health/live`);
  const ms = (await p.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")) as number;
  await p.context().close();
  return ms;
}

async function waterfallTimes(b: Browser, runId: string) {
  const p = await page(b);
  await openSignedIn(p, url, app.adminKey!, `/runs/${runId}`);
  const total = (await (
    await p.waitForFunction(
      `document.querySelectorAll('.waterfall li').length === ${STEPS} && performance.now()`,
      null,
      {
        polling: 'raf',
      },
    )
  ).jsonValue()) as number;
  const [traceStart, traceEnd] = (await p.evaluate(
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
  return { total, render: total - traceEnd, floor, trace: traceEnd - traceStart, before: traceStart };
}

async function taskList(b: Browser) {
  const p = await page(b);
  await openSignedIn(p, url, app.adminKey!, '/tasks');
  const first = (await (
    await p.waitForFunction("document.querySelector('.vrow') && performance.now()", null, { polling: 'raf' })
  ).jsonValue()) as number;
  await p.waitForLoadState('networkidle');
  // Scrolls the list 400 px a frame for 120 frames (past the first pages: more are fetched meanwhile).
  const { gaps, domRows } = (await p.evaluate(`new Promise((done) => {
    const list = document.querySelector('.vlist');
    let last = performance.now(), rows = 0, n = 0;
    const gaps = [];
    const step = (now) => {
      gaps.push(now - last);
      last = now;
      rows = Math.max(rows, document.querySelectorAll('.vrow').length);
      list.scrollTop += 400;
      if (++n < 120) requestAnimationFrame(step);
      else done({ gaps, domRows: rows });
    };
    requestAnimationFrame((now) => { last = now; requestAnimationFrame(step); });
  })`)) as { gaps: number[]; domRows: number };
  await p.context().close();
  return { first, p95Frame: quantile(gaps, 0.95), longestFrame: Math.max(...gaps), domRows };
}

/** Finished tasks written straight into the store. */
async function seedTasks(n: number): Promise<void> {
  const [agent] = await app.services.db.query<{ id: string }>(
    "select id from agents where name = 'bench-waterfall'",
  );
  await app.services.db.query(
    `insert into tasks (id, tenant_id, agent_id, task_type, status, title, completed_at)
     select gen_random_uuid(), $1, $2, 'default', 'completed', 'task ' || i, now() from generate_series(1, $3) i`,
    [app.defaultTenantId, agent!.id, n],
  );
}

/** A finished run of `steps` steps (model calls and tool calls in turn) written straight into the store. */
async function seedRun(steps: number): Promise<string> {
  const db = app.services.db;
  const [agent] = await db.query<{ id: string }>(
    `insert into agents (id, tenant_id, name, model) values (gen_random_uuid(), $1, 'bench-waterfall', 'mock/default') returning id`,
    [app.defaultTenantId],
  );
  const [session] = await db.query<{ id: string }>(
    'insert into sessions (id, tenant_id, agent_id) values (gen_random_uuid(), $1, $2) returning id',
    [app.defaultTenantId, agent!.id],
  );
  const start = Date.now() - steps * 20;
  const [run] = await db.query<{ id: string }>(
    `insert into runs (id, tenant_id, session_id, agent_id, status, input, model_calls, step_count, created_at, started_at, completed_at)
     values (gen_random_uuid(), $1, $2, $3, 'completed', 'a long run', $4, $5, $6, $6, now()) returning id`,
    [app.defaultTenantId, session!.id, agent!.id, steps / 2, steps, new Date(start).toISOString()],
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
    [run!.id, app.defaultTenantId, new Date(start).toISOString(), steps],
  );
  return run!.id;
}
