import type { TenantPolicies } from '../config/tenant-policy.ts';
import type { Db } from '../db/db.ts';
import { toError } from '../errors.ts';
import { OutboundError, type OutboundNetwork, outboundRequest } from '../net/outbound.ts';
import type { Logger } from '../observability/logger.ts';
import type { TraceHeaders } from '../observability/spans.ts';
import { fullJitter } from '../resilience/retry.ts';
import type { CallbackSecrets } from './callback-secrets.ts';
import { startCallbackSpan } from './callback-span.ts';
import { PolledService, waitForDue } from './poll-loop.ts';
import { type TaskRow, toTask } from './rows.ts';
import { SIGNATURE_HEADER, sign } from './signature.ts';

export interface CallbackSenderOptions {
  db: Db;
  log: Logger;
  policies: TenantPolicies;
  secrets: CallbackSecrets;
  /** DNS and routing of the guarded client (tests only). */
  network?: OutboundNetwork;
  maxAttempts: number;
  retryBaseSeconds: number;
  retryCapSeconds: number;
  timeoutSeconds: number;
  pollSeconds: number;
}

interface OutboxRow {
  id: string;
  tenant_id: string;
  task_id: string;
  url: string;
  attempts: number;
  tenant_name: string | null;
  /** The task as it succeeded, when its row was deleted then (retention `delete`); else read now. */
  task: Record<string, unknown> | null;
}

/** A deleted task's row as kept on its outbox row (`to_jsonb`: timestamps as text), as the driver reads rows. */
function fromSnapshot(json: Record<string, unknown>): TaskRow {
  const at = (k: string) => (typeof json[k] === 'string' ? new Date(json[k]) : null);
  return {
    ...(json as unknown as TaskRow),
    run_at: at('run_at')!,
    lease_expires_at: at('lease_expires_at'),
    created_at: at('created_at')!,
    started_at: at('started_at'),
    completed_at: at('completed_at'),
    updated_at: at('updated_at')!,
  };
}

/**
 * Delivers the callback outbox: POSTs the task as JSON, signed, to its `callback_url`; retries with
 * full-jitter backoff until `maxAttempts`; records attempts and last status on the outbox row and
 * on the task. Rows are claimed with SKIP LOCKED and a short in-flight lease (`next_attempt_at`
 * pushed ahead), so several processes share the outbox and a crash mid-send only delays a retry.
 */
export class CallbackSender extends PolledService {
  constructor(private readonly options: CallbackSenderOptions) {
    super(options, 'callback delivery round failed');
  }

  /** Sends every due callback once; returns how many were attempted. */
  async sendDue(): Promise<number> {
    const inFlightSeconds = this.options.timeoutSeconds + 30;
    const due = await this.options.db.query<OutboxRow>(
      `update callback_outbox o
       set attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => $1::float8)
       from (select id from callback_outbox
             where delivered_at is null and given_up_at is null and next_attempt_at <= now()
             order by next_attempt_at limit 20 for update skip locked) d
       where o.id = d.id
       returning o.id, o.tenant_id, o.task_id, o.url, o.attempts, o.task,
                 (select name from tenants where id = o.tenant_id) as tenant_name`,
      [inFlightSeconds],
    );
    await Promise.all(due.map((row) => this.deliver(row)));
    return due.length;
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const [task] = row.task
      ? [fromSnapshot(row.task)]
      : await this.options.db.query<TaskRow>('select * from tasks where tenant_id = $1 and id = $2', [
          row.tenant_id,
          row.task_id,
        ]);
    if (!task) {
      await this.record(row, 'task deleted', 'give_up');
      return;
    }
    const allowPrivate = row.tenant_name
      ? this.options.policies.get(row.tenant_name).network.allow_private_callbacks
      : false;
    const body = JSON.stringify(toTask(task));
    let status: string;
    let outcome: 'delivered' | 'retry' | 'give_up';
    const span = startCallbackSpan(task, row.url, row.attempts);
    try {
      const secret = await this.options.secrets.get(row.tenant_id);
      const code = await this.post(row.url, body, secret, allowPrivate, span.headers);
      span.end(code);
      status = String(code);
      outcome = code >= 200 && code < 300 ? 'delivered' : 'retry';
    } catch (err) {
      const e = toError(err);
      span.end(undefined, e.message);
      // A refusal by the SSRF rules stays so: the callback is given up at once.
      status = e instanceof OutboundError && e.kind === 'refused' ? 'refused' : 'error';
      status = `${status}: ${e.message}`.slice(0, 500);
      outcome = status.startsWith('refused') ? 'give_up' : 'retry';
    }
    if (outcome === 'retry' && row.attempts >= this.options.maxAttempts) outcome = 'give_up';
    await this.record(row, status, outcome);
    if (outcome !== 'delivered') {
      this.options.log.warn(
        { task: row.task_id, attempt: row.attempts, status, outcome },
        'callback not delivered',
      );
    }
  }

  private async record(row: OutboxRow, status: string, outcome: 'delivered' | 'retry' | 'give_up') {
    const delayMs = Math.round(
      fullJitter(row.attempts - 1, this.options.retryBaseSeconds * 1000, this.options.retryCapSeconds * 1000),
    );
    await this.options.db.query(
      `with o as (
         update callback_outbox set last_status = $2,
           delivered_at = case when $3 = 'delivered' then now() end,
           given_up_at = case when $3 = 'give_up' then now() end,
           next_attempt_at = now() + make_interval(secs => $4::float8 / 1000)
         where id = $1 returning tenant_id, task_id, attempts
       )
       update tasks t set callback_attempts = o.attempts, callback_status = $2
       from o where t.tenant_id = o.tenant_id and t.id = o.task_id`,
      [row.id, status, outcome, delayMs],
    );
  }

  /** One POST through the guarded outbound client (no redirects followed); resolves with the HTTP status. */
  private async post(
    url: string,
    body: string,
    secret: string,
    allowPrivate: boolean,
    trace: TraceHeaders | undefined,
  ): Promise<number> {
    const res = await outboundRequest(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'agentry-callbacks',
          [SIGNATURE_HEADER]: sign(secret, body),
          ...trace,
        },
        body,
      },
      {
        allowPrivate,
        timeoutMs: this.options.timeoutSeconds * 1000,
        maxBytes: 64 * 1024,
        network: this.options.network,
      },
    );
    return res.status;
  }

  /** Sends what is due; the next round comes at once after a busy one, else when the next row falls due. */
  protected async round(): Promise<number> {
    const sent = await this.sendDue();
    if (sent > 0) return 0;
    const [row] = await this.options.db.query<{ ms: number | null }>(
      `select (extract(epoch from min(next_attempt_at) - now()) * 1000)::float8 as ms from callback_outbox
       where delivered_at is null and given_up_at is null`,
    );
    return waitForDue(row?.ms, this.options.pollSeconds * 1000);
  }
}
