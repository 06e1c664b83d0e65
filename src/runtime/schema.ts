import { z } from 'zod';
import { agentVersionField } from '../agents/version-schema.ts';
import { pageFields } from '../db/page.ts';
import { responseFormatSchema } from '../models/structured-output.ts';

/** The API shapes of chat requests, sessions, messages, runs and steps. */

export const multitaskStrategies = ['reject', 'enqueue', 'interrupt'] as const;
export type MultitaskStrategy = (typeof multitaskStrategies)[number];

/**
 * A chat message's attachments, as OpenAI's content parts: an image (a URL or a data URL), audio
 * (base64) or a file (base64 `file_data` or a provider's `file_id`). They reach the model with the
 * message (a provider that cannot take one refuses the run with a 400) and stay in the history.
 */
export const attachmentSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('image_url'),
      image_url: z
        .object({
          url: z.string().min(1).max(30_000_000),
          detail: z.enum(['auto', 'low', 'high']).optional(),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('input_audio'),
      input_audio: z
        .object({ data: z.string().min(1).max(30_000_000), format: z.enum(['wav', 'mp3']) })
        .strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('file'),
      file: z
        .object({
          file_data: z.string().min(1).max(30_000_000).optional(),
          file_id: z.string().min(1).max(200).optional(),
          filename: z.string().min(1).max(255).optional(),
        })
        .strict()
        .refine(
          (f) => f.file_data !== undefined || f.file_id !== undefined,
          'a file needs file_data or file_id',
        ),
    })
    .strict(),
]);
export type Attachment = z.infer<typeof attachmentSchema>;

export const chatFields = {
  /** The user's message: one string (not a message array; the session holds the history). */
  message: z.string().min(1).max(200_000),
  /** Continue this session; a new one is created when absent. */
  session_id: z.uuid().optional(),
  stream: z.boolean().default(true),
  /** Variables for the agent's system prompt (`{{name}}`); keys it does not use are listed to the model. */
  context: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.unknown()).optional(),
  /** What a message to a session whose run is still going does: 409, wait its turn, or cancel the running one. */
  multitask: z.enum(multitaskStrategies).default('reject'),
  /** `cancel`: a streaming client that disconnects cancels the run; by default the run goes on. */
  on_disconnect: z.enum(['continue', 'cancel']).default('continue'),
  /** Model calls this run may make (default: `runtime.max_steps`). */
  max_steps: z.number().int().min(1).max(100).optional(),
  /** Images, audio or files sent with the message (content parts; `runtime.max_attachment_bytes` in all). */
  attachments: z.array(attachmentSchema).min(1).max(16).optional(),
  /** Structured output for this run's answer, in place of the agent's own (null: free text). */
  response_format: responseFormatSchema.nullable().optional(),
};

/** Chat with one agent: the latest version, or the one pinned here or as `name@3` in the agent's reference. */
const pinField = { agent_version: agentVersionField.optional() };
export const agentChatBody = z.object({ ...chatFields, ...pinField }).strict();
export const chatBody = z
  .object({
    agent_config_id: z.string().min(1).max(200).describe('an agent id, or its name; `name@3` runs version 3'),
    ...chatFields,
    ...pinField,
  })
  .strict();
export type ChatInput = z.infer<typeof agentChatBody>;

export const usageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
});

export const toolCallRecord = z.object({
  id: z.string(),
  name: z.string(),
  arguments: z.unknown(),
  output: z.unknown().optional(),
  error: z.string().optional(),
});
export type ToolCallRecord = z.infer<typeof toolCallRecord>;

export const runStatuses = [
  'queued',
  'running',
  'input_required',
  'interrupted',
  'completed',
  'failed',
  'cancelled',
] as const;
export type RunStatus = (typeof runStatuses)[number];

/** `stream: false`: the answer once the run ends (or pauses for approval). */
export const chatResponse = z.object({
  status: z.enum(['success', 'input_required']),
  session_id: z.uuid(),
  run_id: z.uuid(),
  response: z.object({
    text: z.string().nullable(),
    tool_calls: z.array(toolCallRecord),
    usage: usageSchema,
  }),
  /** While `input_required`: the tool calls waiting for POST /v1/runs/:id/approve or /deny. */
  pending_tool_calls: z.array(toolCallRecord).optional(),
});

export const sessionSchema = z.object({
  id: z.uuid(),
  agent_id: z.uuid(),
  title: z.string(),
  /** The user whose chat made it; a `private` session is seen only by them and the tenant's admins. */
  owner: z.string().nullable(),
  visibility: z.enum(['private', 'tenant']),
  message_count: z.number().int(),
  /** Exchanges so far: the user's messages (each with the answer and tool calls it led to). */
  exchange_count: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Session = z.infer<typeof sessionSchema>;

export const listSessionsQuery = z
  .object({
    ...pageFields,
    /** An agent id, or its name. */
    agent_id: z.string().min(1).max(200).optional(),
    /**
     * What made the session: `chat` (a conversation: the chat API, the playground, a fork of one),
     * `task` (a queued task's run) or `experiment` (an experiment item's run). None: every session.
     */
    origin: z.enum(['chat', 'task', 'experiment']).optional(),
  })
  .strict();
export type ListSessionsQuery = z.infer<typeof listSessionsQuery>;

export const updateSessionBody = z
  .object({ title: z.string().max(200), visibility: z.enum(['private', 'tenant']) })
  .partial()
  .strict();

export const messageSchema = z.object({
  seq: z.number().int(),
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().nullable(),
  tool_calls: z.array(z.unknown()).nullable(),
  tool_call_id: z.string().nullable(),
  /** A message sent with attachments: its content parts (text first), as sent. */
  parts: z.array(z.record(z.string(), z.unknown())).nullable(),
  tokens: z.number().int(),
  run_id: z.uuid().nullable(),
  created_at: z.string(),
});
export type Message = z.infer<typeof messageSchema>;

export const messagesQuery = z
  .object({
    /** Messages with seq greater than this. */
    after: z.coerce.number().int().min(-1).default(-1),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();

export const stepSchema = z.object({
  idx: z.number().int(),
  /** `retrieval`: only on runs ingested from an app's traces (POST /v1/traces). */
  kind: z.enum(['model', 'tool', 'retrieval']),
  name: z.string(),
  tool_call_id: z.string().nullable(),
  input: z.unknown(),
  output: z.unknown(),
  error: z.string().nullable(),
  usage: usageSchema.nullable(),
  started_at: z.string(),
  duration_ms: z.number(),
});
export type Step = z.infer<typeof stepSchema>;

export const runSchema = z.object({
  id: z.uuid(),
  session_id: z.uuid(),
  agent_id: z.uuid(),
  task_id: z.uuid().nullable(),
  status: z.enum(runStatuses),
  input: z.string(),
  context: z.record(z.string(), z.unknown()),
  output: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  model_calls: z.number().int(),
  usage: usageSchema,
  /** The version of the agent that ran (null: a run from before versions were kept). */
  agent_version: z.number().int().nullable(),
  /** A team's run: the version each member ran, by agent id. */
  member_versions: z.record(z.string(), z.number().int()).nullable(),
  /** A fork (POST /v1/runs/:id/fork): the run it came from and the step it started at. */
  parent_run_id: z.uuid().nullable(),
  forked_from_step: z.number().int().nullable(),
  pending_tool_calls: z.array(toolCallRecord).nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  updated_at: z.string(),
});
export type Run = z.infer<typeof runSchema>;
export const runWithSteps = runSchema.extend({ steps: z.array(stepSchema) });

export const denyBody = z
  .object({ reason: z.string().min(1).max(2000).default('the user denied this tool call') })
  .strict();
export const cancelBody = z.object({ reason: z.string().min(1).max(2000).optional() }).strict();

/** POST /v1/runs/:id/fork: where the new run starts, and what it changes. */
export const forkBody = z
  .object({
    /** The recorded step to start at: 0 (a replay) or a model step; see GET /v1/runs/:id. */
    step: z.number().int().min(0).max(1_000_000).default(0),
    /** The run's user message, edited: a new start, so with `step` 0 only (422 otherwise). */
    message: z.string().min(1).max(200_000).optional(),
    /** Run this version of the agent (default: the version the run ran). */
    agent_version: agentVersionField.optional(),
    /** Run on this model instead of the agent's. */
    model: z.string().min(1).max(200).optional(),
    /** Tool results before the step, replaced: what the model sees of those calls. */
    tool_results: z
      .array(
        z.object({ tool_call_id: z.string().min(1).max(200), content: z.string().max(200_000) }).strict(),
      )
      .max(100)
      .optional(),
  })
  .strict();
export type ForkInput = z.infer<typeof forkBody>;
