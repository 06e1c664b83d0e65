import { type ToolDefinition, ToolError } from '../types.ts';

export const currentTimeTool: ToolDefinition<{ timezone?: string }> = {
  name: 'current_time',
  idempotent: true,
  description: 'The current date and time, in UTC and in the given IANA time zone (e.g. "Europe/Paris").',
  parameters: {
    type: 'object',
    properties: { timezone: { type: 'string', minLength: 1, maxLength: 64 } },
    additionalProperties: false,
  },
  async handler({ timezone = 'UTC' }) {
    const now = new Date();
    let local: string;
    try {
      // sv-SE formats as "YYYY-MM-DD HH:MM:SS", an unambiguous local wall-clock time.
      local = new Intl.DateTimeFormat('sv-SE', {
        timeZone: timezone,
        dateStyle: 'short',
        timeStyle: 'medium',
        hourCycle: 'h23',
      }).format(now);
    } catch {
      throw new ToolError(`unknown time zone: ${timezone} (use an IANA name such as "America/New_York")`);
    }
    return {
      utc: now.toISOString(),
      timezone,
      local,
      weekday: new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'long' }).format(now),
    };
  },
};
