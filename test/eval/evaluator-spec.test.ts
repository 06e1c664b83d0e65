import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EvaluatorType, evaluatorKinds, evaluatorSpec } from '../../src/eval/evaluators/registry.ts';
import { bindEvaluators, scoreCase } from '../../src/eval/evaluators/score.ts';
import type { EvalCase, EvalDeps, EvalTrace } from '../../src/eval/evaluators/types.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * One spec every evaluator kind passes, as each provider passes the provider spec: its parameters
 * are checked at the edge, a case it should pass passes and one it should fail fails (score in
 * [0, 1] both times, a reason when it fails), it gives the same verdict twice, and what it cannot
 * judge is an error on that score, never a thrown request. The table is typed by the registry: a
 * new kind does not compile until it has its row here.
 */
interface KindSpec {
  params: Record<string, unknown>;
  /** Parameters the edge refuses (a 400 before anything runs). */
  bad: Record<string, unknown>;
  pass: Partial<EvalCase>;
  fail: Partial<EvalCase>;
}

const trace = (t: Partial<EvalTrace> = {}): EvalTrace => ({
  run_id: null,
  status: 'completed',
  tool_calls: [],
  latency_ms: 120,
  tokens: 40,
  cost_usd: 0.001,
  ...t,
});

const specs = {
  exact_match: {
    params: { ignore_case: true },
    bad: { ignore_case: 'yes' },
    pass: { output: ' Paris ', expected: 'paris' },
    fail: { output: 'Lyon', expected: 'paris' },
  },
  contains: {
    params: { value: ['blue', 'sky'] },
    bad: { value: [] },
    pass: { output: 'the sky is blue' },
    fail: { output: 'the sea is blue' },
  },
  regex: {
    params: { pattern: '^\\d{3}-\\d{4}$' },
    bad: { pattern: '(?<=a)b' },
    pass: { output: '555-1234' },
    fail: { output: 'call 555-1234' },
  },
  json_valid: {
    params: {},
    bad: { strict: true },
    pass: { output: '```json\n{"a": 1}\n```' },
    fail: { output: '{"a": 1' },
  },
  json_schema: {
    params: { schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } },
    bad: { schema: { type: 'array', minItems: 10_000_000 } },
    pass: { output: '{"n": 3}' },
    fail: { output: '{"n": "three"}' },
  },
  numeric: {
    params: { tolerance: 0.05, relative: true },
    bad: { tolerance: -1 },
    pass: { output: 'about 101 units', expected: 100 },
    fail: { output: 'about 120 units', expected: 100 },
  },
  tool_called: {
    params: { tool: 'lookup', arguments: { city: 'Oslo' } },
    bad: { tool: '' },
    pass: { trace: trace({ tool_calls: [{ name: 'lookup', arguments: '{"city":"Oslo","days":2}' }] }) },
    fail: { trace: trace({ tool_calls: [{ name: 'lookup', arguments: { city: 'Bergen' } }] }) },
  },
  latency_under: {
    params: { max: 500 },
    bad: { max: -5 },
    pass: { trace: trace({ latency_ms: 499 }) },
    fail: { trace: trace({ latency_ms: 501 }) },
  },
  tokens_under: {
    params: { max: 100 },
    bad: { max: '100' },
    pass: { trace: trace({ tokens: 100 }) },
    fail: { trace: trace({ tokens: 101 }) },
  },
  cost_under: {
    params: { max: 0.01 },
    bad: {},
    pass: { trace: trace({ cost_usd: 0.009 }) },
    fail: { trace: trace({ cost_usd: 0.02 }) },
  },
  // The mock judge (models/providers/mock-judge.ts) scores by the words output and expected share.
  llm_judge: {
    params: {
      model: 'mock/judge',
      rubric: 'Does the answer hold the expected one?',
      score_range: { min: 1, max: 5 },
      pass_threshold: 4,
    },
    bad: { model: 'mock/judge', rubric: 'r', score_range: { min: 1, max: 5 }, pass_threshold: 6 },
    pass: { output: 'The capital is Paris.', expected: 'Paris' },
    fail: { output: 'No idea at all.', expected: 'Paris' },
  },
  // The judge answers on 1 to 5 (the mock puts its share on the range); passes at 4 and above.
  pairwise_judge: {
    params: { model: 'mock/judge', rubric: 'Which answer holds the expected one?' },
    bad: { model: 'mock/judge', rubric: 'r', max_tokens: 1 },
    pass: { output: 'The capital is Paris.', baseline: 'I do not know.', expected: 'Paris' },
    fail: { output: 'I do not know.', baseline: 'The capital is Paris.', expected: 'Paris' },
  },
  // `mock/…` models embed by hashing words: shared words make the vectors close.
  embedding_similarity: {
    params: { model: 'mock/embed', threshold: 0.8 },
    bad: { model: 'mock/embed', threshold: 1.5 },
    pass: { output: 'The capital of France is Paris', expected: 'the capital of france is paris.' },
    fail: { output: 'Bananas grow on tall plants', expected: 'the capital of france is paris.' },
  },
  javascript: {
    params: {
      code: 'input.output.length <= 10 ? 1 : { score: 0.2, reason: "too long" }',
      pass_threshold: 0.5,
    },
    bad: { code: 'true', timeout_ms: 1 },
    pass: { output: 'short' },
    fail: { output: 'a good deal longer than ten' },
  },
} satisfies Record<EvaluatorType, KindSpec>;

describe('every evaluator kind passes the evaluator spec', () => {
  let s: TestServer;
  let deps: EvalDeps;
  before(async () => {
    s = await startServer('pglite', {
      sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 1 } } },
    });
    const { models, sandboxes } = s.app.services;
    deps = {
      models,
      embed: (request, ctx) => models.embed(request, ctx),
      runJavascript: (request) => sandboxes.run('evaluator', 'quickjs', request),
    };
  });
  after(() => s.close());

  const ctx = () => ({
    tenantId: s.app.defaultTenantId,
    tenantName: 'default',
    signal: new AbortController().signal,
  });
  const kase = (c: Partial<EvalCase>): EvalCase => ({
    input: 'q',
    output: null,
    expected: null,
    trace: trace(),
    ...c,
  });

  it('has a row for each registered kind and no other', () => {
    assert.deepEqual(Object.keys(specs).sort(), Object.keys(evaluatorKinds).sort());
  });

  for (const [type, spec] of Object.entries(specs) as [EvaluatorType, KindSpec][]) {
    it(`${type}: parameters checked at the edge, pass and fail, the same verdict twice`, async () => {
      assert.ok(evaluatorSpec.safeParse({ type, ...spec.params }).success, 'its parameters are taken');
      assert.equal(
        evaluatorSpec.safeParse({ type, ...spec.bad }).success,
        false,
        `the edge refuses ${JSON.stringify(spec.bad)}`,
      );
      assert.equal(evaluatorSpec.safeParse({ type, ...spec.params, unknown_param: 1 }).success, false);

      const [bound] = bindEvaluators([{ type, ...spec.params }], deps);
      const run = async (c: Partial<EvalCase>) => {
        const [result] = await scoreCase([bound!], kase(c), ctx());
        assert.equal(result!.error, undefined, `${type} could judge: ${result!.error}`);
        assert.ok(result!.score! >= 0 && result!.score! <= 1, `score ${result!.score} in [0, 1]`);
        return result!;
      };
      const passed = await run(spec.pass);
      assert.equal(passed.pass, true, `${type} passes ${JSON.stringify(spec.pass)}: ${passed.reason}`);
      const failed = await run(spec.fail);
      assert.equal(failed.pass, false, `${type} fails ${JSON.stringify(spec.fail)}`);
      assert.ok(failed.reason, 'a failed score says why');
      assert.ok(failed.score! < 1);
      assert.deepEqual(await run(spec.fail), failed, 'the same verdict twice');
    });
  }

  it('turns what a kind cannot judge into an error on that score, the others still scoring', async () => {
    const bound = bindEvaluators(
      [{ type: 'exact_match' }, { type: 'numeric' }, { type: 'contains', value: 'x' }],
      {},
    );
    const results = await scoreCase(bound, kase({ output: 'x', expected: null }), ctx());
    assert.match(results[0]!.error!, /no expected output/);
    assert.match(results[1]!.error!, /no expected number/);
    assert.equal(results[2]!.pass, true);
    // The kinds that call out report a missing part as an error, not a verdict.
    const outside = bindEvaluators(
      [
        { type: 'llm_judge', model: 'mock/judge', rubric: 'r' },
        { type: 'javascript', code: 'true' },
        { type: 'embedding_similarity', model: 'mock/embed' },
      ],
      {},
    );
    for (const r of await scoreCase(outside, kase({ output: 'x' }), ctx())) {
      assert.equal(r.score, null);
      assert.match(r.error!, /not available/);
    }
    // A pairwise judge with nothing to compare with, and a similarity with nothing expected.
    const [pairwise, similarity] = bindEvaluators(
      [
        { type: 'pairwise_judge', model: 'mock/judge', rubric: 'r' },
        { type: 'embedding_similarity', model: 'mock/embed' },
      ],
      deps,
    );
    const [p, e] = await scoreCase([pairwise!, similarity!], kase({ output: 'x' }), ctx());
    assert.match(p!.error!, /no baseline output/);
    assert.match(e!.error!, /no expected output/);
  });
});
