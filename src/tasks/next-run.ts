import { Cron } from 'croner';
import { AppError } from '../errors.ts';

export interface Timing {
  cron: string | null;
  timezone: string;
  interval_seconds: number | null;
}

/** Throws 400 naming the bad cron expression or time zone. */
export function assertTiming(t: Timing): void {
  if ((t.cron === null) === (t.interval_seconds === null)) {
    throw new AppError('validation_error', 'send exactly one of cron and interval_seconds', {
      details: [{ in: 'body', path: 'cron', message: 'exactly one of cron and interval_seconds' }],
    });
  }
  try {
    new Intl.DateTimeFormat('en', { timeZone: t.timezone });
  } catch {
    throw new AppError('validation_error', `unknown time zone "${t.timezone}"`, {
      details: [{ in: 'body', path: 'timezone', message: `unknown time zone "${t.timezone}"` }],
    });
  }
  if (t.cron !== null) {
    try {
      const next = new Cron(t.cron, { timezone: t.timezone, paused: true }).nextRun();
      if (!next) throw new Error('it never fires');
    } catch (err) {
      const reason = (err as Error).message;
      throw new AppError('validation_error', `invalid cron expression "${t.cron}": ${reason}`, {
        details: [{ in: 'body', path: 'cron', message: `invalid cron expression "${t.cron}": ${reason}` }],
      });
    }
  }
}

/**
 * The first tick strictly after `now`. A schedule that was due long ago (everything was down, or it
 * was paused) gets one tick now and then this: missed intervals collapse into one, never a burst.
 * Intervals stay on their original grid (`anchor` + k × interval).
 */
export function nextRunAfter(t: Timing, now: Date, anchor?: Date): Date {
  if (t.interval_seconds !== null) {
    const step = t.interval_seconds * 1000;
    const base = anchor ?? now;
    const k = Math.max(1, Math.floor((now.getTime() - base.getTime()) / step) + 1);
    return new Date(base.getTime() + k * step);
  }
  const next = new Cron(t.cron!, { timezone: t.timezone, paused: true }).nextRun(now);
  // A valid expression can still run out of dates (a fixed year in the past): park it far ahead.
  return next ?? new Date('9999-12-31T00:00:00Z');
}
