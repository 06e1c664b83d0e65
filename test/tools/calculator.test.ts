import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calculatorTool } from '../../src/tools/builtins/calculator.ts';
import { ExpressionError, evaluateExpression } from '../../src/tools/expression.ts';

describe('calculator expressions', () => {
  it('follows precedence, associativity and unary minus as in maths', () => {
    const cases: Array<[string, number]> = [
      ['2 + 3 * 4', 14],
      ['(2 + 3) * 4', 20],
      ['2 ^ 3 ^ 2', 512],
      ['2 ** 10', 1024],
      ['-2 ^ 2', -4],
      ['(-2) ^ 2', 4],
      ['10 - 4 - 3', 3],
      ['100 / 10 / 5', 2],
      ['7 % 3', 1],
      ['.5 + 1e3 + 1_000', 2000.5],
      ['2 × 3 ÷ 4', 1.5],
      ['sqrt(16) + abs(-3) + max(1, 9, 4) + min(5, 2)', 18],
      ['round(3.14159, 2)', 3.14],
      ['log(1000) + log(8, 2) + ln(e)', 7],
      ['2 * pi', 2 * Math.PI],
      ['--3', 3],
    ];
    for (const [expr, expected] of cases) assert.equal(evaluateExpression(expr), expected, expr);
  });

  it('explains what is wrong and where, and never evaluates code', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /empty/],
      ['2 +', /unexpected end/],
      ['(1 + 2', /expected "\)" at position 7/],
      ['1 / 0', /division by zero/],
      ['foo(2)', /unknown function "foo"/],
      ['x + 1', /unknown name "x"/],
      ['process.exit(1)', /unexpected character "\."|unknown name/],
      ['constructor', /unknown name "constructor"/],
      ['__proto__', /unknown name "__proto__"/],
      ['toString(1)', /unknown function "tostring"/],
      ['hasOwnProperty(1)', /unknown function/],
      ['1 2', /unexpected "2" at position 3/],
      ['sqrt(1, 2)', /takes 1 arguments/],
      ['10 ^ 400', /not a finite number/],
      ['2; 3', /unexpected character ";"/],
      [`${'('.repeat(500)}1${')'.repeat(500)}`, /nested too deeply/],
    ];
    for (const [expr, message] of bad) {
      assert.throws(
        () => evaluateExpression(expr),
        (err: Error) => err instanceof ExpressionError && message.test(err.message),
        expr,
      );
    }
  });

  it('answers as a tool: a plain number, binary noise trimmed', async () => {
    const ctx = {} as Parameters<typeof calculatorTool.handler>[1];
    assert.equal(await calculatorTool.handler({ expression: '0.1 + 0.2' }, ctx), '0.3');
    await assert.rejects(calculatorTool.handler({ expression: '1 +' }, ctx), { name: 'ToolError' });
  });
});
