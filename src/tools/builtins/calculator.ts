import { ExpressionError, evaluateExpression } from '../expression.ts';
import { type ToolDefinition, ToolError } from '../types.ts';

export const calculatorTool: ToolDefinition<{ expression: string }> = {
  name: 'calculator',
  idempotent: true,
  description:
    'Evaluate an arithmetic expression: + - * / % ^, parentheses, functions (sqrt, abs, round, floor, ceil, ' +
    'exp, ln, log, log2, log10, sin, cos, tan, asin, acos, atan, atan2, pow, min, max, hypot) and pi, e, tau.',
  parameters: {
    type: 'object',
    properties: { expression: { type: 'string', minLength: 1, maxLength: 2000 } },
    required: ['expression'],
    additionalProperties: false,
  },
  async handler({ expression }) {
    try {
      const value = evaluateExpression(expression);
      // 12 significant digits hide binary noise (0.1 + 0.2) without losing real precision.
      return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
    } catch (err) {
      if (err instanceof ExpressionError) throw new ToolError(err.message);
      throw err;
    }
  },
};
