import type { preValidationHookHandler } from 'fastify';
import { z } from 'zod';
import { compatEnabled } from '../../config/compat-config.ts';
import { AppError } from '../../errors.ts';
import type { Services } from '../services.ts';

/**
 * `POST /run` is defined by two families — Zahara's runtime (`{task, parameters}`) and PAGI's alias
 * of `/plan` (`{prompt, session_id, resources}`) — and served by one, `compat.run_owner`. Both
 * bodies live here, so each family's /run can tell the other's apart.
 */

/** Zahara's `{task, parameters, timeout?}` (reference: zahara-runtime.md). */
export const zaharaTaskBody = z
  .object({
    task: z.string().min(1).max(200_000),
    parameters: z.record(z.string(), z.unknown()).default({}),
    /** Zahara's per-request agent timeout, in seconds: past it the run is cancelled and the call answers 504. */
    timeout: z.number().positive().max(3600).optional(),
  })
  .strict();

/** PAGI's `{prompt, session_id, resources}` (reference: pagi-chat-desktop.md), and Agentry's `agent`. */
export const pagiPlanBody = z
  .object({
    prompt: z.string().min(1).max(200_000),
    session_id: z.string().min(1).max(200).optional(),
    resources: z.array(z.unknown()).max(100).default([]),
    agent: z.string().min(1).max(200).optional(),
  })
  .strict();

type RunFamily = 'zahara' | 'pagi';

const families = {
  zahara: {
    name: 'Zahara',
    route: "Zahara's runtime",
    shape: '{task, parameters}',
    key: 'task',
    body: zaharaTaskBody,
    elsewhere: "POST /execute, Zahara's gateway, takes the same body",
  },
  pagi: {
    name: 'PAGI',
    route: "PAGI's alias of /plan",
    shape: '{prompt, session_id, resources}',
    key: 'prompt',
    body: pagiPlanBody,
    elsewhere: "POST /plan, PAGI's planner, takes the same body",
  },
} satisfies Record<RunFamily, unknown>;

/**
 * A body sent to `/run` that is clearly the other family's — it has that family's key, not the
 * owner's, and is valid as that family's — is answered with a 400 that says so and names the
 * setting that gave `/run` away, instead of the owner's validation error (which named a missing
 * field and neither family). Anything else goes on to the owner's own validation.
 */
export function otherFamilyRun(owner: RunFamily, config: Services['config']): preValidationHookHandler {
  const other: RunFamily = owner === 'zahara' ? 'pagi' : 'zahara';
  const mine = families[owner];
  const theirs = families[other];
  const otherOn = compatEnabled(config, other);
  const why = config.compat.run_owner
    ? `compat.run_owner: ${owner}`
    : `compat.run_owner unset, so ${owner === 'zahara' ? 'Zahara, which is on' : 'PAGI, as Zahara is off'}`;
  const message =
    `this body is ${theirs.name}'s ${theirs.shape}, but POST /run is ${mine.route} here (${why}): ` +
    (otherOn
      ? `${theirs.elsewhere}, or give /run to ${theirs.name} with compat.run_owner: ${other} (AGENTRY_COMPAT_RUN_OWNER=${other})`
      : `${theirs.name}'s routes are off (compat.${other}, AGENTRY_COMPAT_${other.toUpperCase()}); send ${mine.shape}`);
  return async (req) => {
    const body = req.body as Record<string, unknown> | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
    // Cheap first: most calls are the owner's own and stop here.
    if (mine.key in body || !(theirs.key in body)) return;
    if (!theirs.body.safeParse(body).success) return;
    throw new AppError('validation_error', message, {
      details: [
        {
          in: 'body',
          path: theirs.key,
          message: `a ${theirs.name} body sent to ${mine.name}'s /run`,
          setting: 'compat.run_owner',
          variable: 'AGENTRY_COMPAT_RUN_OWNER',
          owner,
        },
      ],
    });
  };
}
