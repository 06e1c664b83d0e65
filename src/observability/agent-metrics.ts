import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * What operators of agents ask first, as Prometheus metrics: model calls (latency, tokens and
 * cost by provider, model and outcome; the OTel GenAI metric names where they exist), tool calls
 * (duration and errors by tool) and runs (duration and outcome by agent).
 */
export class AgentMetrics {
  private readonly modelDuration: Histogram<'gen_ai_provider_name' | 'gen_ai_request_model' | 'outcome'>;
  private readonly tokens: Histogram<'gen_ai_provider_name' | 'gen_ai_request_model' | 'gen_ai_token_type'>;
  private readonly cost: Counter<'gen_ai_provider_name' | 'gen_ai_request_model'>;
  private readonly toolDuration: Histogram<'tool' | 'outcome'>;
  private readonly toolErrors: Counter<'tool'>;
  private readonly runDuration: Histogram<'agent' | 'outcome'>;
  private readonly runsPoisoned: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.modelDuration = new Histogram({
      name: 'gen_ai_client_operation_duration_seconds',
      help: 'Model call duration (gen_ai.client.operation.duration), by provider, model and outcome',
      labelNames: ['gen_ai_provider_name', 'gen_ai_request_model', 'outcome'],
      buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
      registers,
    });
    this.tokens = new Histogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens per model call (gen_ai.client.token.usage), by token type (input, output)',
      labelNames: ['gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_token_type'],
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576],
      registers,
    });
    this.cost = new Counter({
      name: 'agentry_model_cost_dollars_total',
      help: 'Model spend by the catalog prices, in US dollars',
      labelNames: ['gen_ai_provider_name', 'gen_ai_request_model'],
      registers,
    });
    this.toolDuration = new Histogram({
      name: 'agentry_tool_call_duration_seconds',
      help: 'Tool call duration, by tool and outcome (ok, error)',
      labelNames: ['tool', 'outcome'],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.toolErrors = new Counter({
      name: 'agentry_tool_call_errors_total',
      help: 'Tool calls that ended in an error, by tool',
      labelNames: ['tool'],
      registers,
    });
    this.runDuration = new Histogram({
      name: 'agentry_run_duration_seconds',
      help: 'Run (chat turn or task execution) duration, by agent and outcome (completed, failed, cancelled, input_required)',
      labelNames: ['agent', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.runsPoisoned = new Counter({
      name: 'agentry_runs_poisoned_total',
      help: 'Runs failed as poisoned: taken over runtime.max_takeovers times in a row without recording a step',
      registers,
    });
  }

  modelCall(
    m: { provider: string; model: string; outcome: string; seconds: number },
    usage?: { input: number; output: number; cost: number },
  ): void {
    const labels = { gen_ai_provider_name: m.provider, gen_ai_request_model: m.model };
    this.modelDuration.observe({ ...labels, outcome: m.outcome }, m.seconds);
    if (!usage) return;
    this.tokens.observe({ ...labels, gen_ai_token_type: 'input' }, usage.input);
    this.tokens.observe({ ...labels, gen_ai_token_type: 'output' }, usage.output);
    this.cost.inc(labels, usage.cost);
  }

  toolCall(tool: string, seconds: number, ok: boolean): void {
    this.toolDuration.observe({ tool, outcome: ok ? 'ok' : 'error' }, seconds);
    if (!ok) this.toolErrors.inc({ tool });
  }

  run(agent: string, outcome: string, seconds: number): void {
    this.runDuration.observe({ agent, outcome }, seconds);
  }

  /** A run failed as poisoned rather than taken over again (runtime.ts `carryOnTaken`). */
  poisoned(): void {
    this.runsPoisoned.inc();
  }
}
