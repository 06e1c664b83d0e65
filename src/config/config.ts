import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { compatConfig, compatSwitchVariables } from './compat-config.ts';
import { egressConfig, mcpConfig } from './mcp-config.ts';
import { modelGatewayConfig } from './models-config.ts';
import { breakerOptions, retryOptions } from './resilience-config.ts';
import { sandboxConfig } from './sandbox-config.ts';
import { stringList } from './string-list.ts';
import { parseYamlWithSchema } from './yaml.ts';

/**
 * Everything the process can be told, with its default. Precedence: flags > env > agentry.yaml > defaults.
 * Secrets (database URL with password, JWT secret, internal secret) come only from env or flags.
 */
export const configSchema = z
  .object({
    server: z
      .object({
        /** Address to bind. Loopback by default: exposing the server is a deliberate act. */
        host: z.string().default('127.0.0.1'),
        port: z.coerce.number().int().min(0).max(65535).default(7070),
        /** Largest accepted request body, in bytes (413 above it). */
        body_limit: z.coerce
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
        /** Deepest nesting of arrays and objects accepted in a JSON body (400 deeper). */
        json_max_depth: z.coerce.number().int().min(2).max(1000).default(64),
        /**
         * JSON answers of at least this many bytes are compressed (brotli or gzip, as the client's
         * Accept-Encoding allows); event streams never are. 0 compresses every JSON answer.
         */
        compress_min_bytes: z.coerce.number().int().min(0).default(1024),
        /** Compress JSON answers at all (off: a proxy in front compresses, or CPU matters more than bytes). */
        compress: z.union([z.boolean(), z.stringbool()]).default(true),
        /** Seconds a graceful shutdown may take before the process exits anyway. */
        shutdown_grace_seconds: z.coerce.number().positive().default(10),
        /**
         * Event-loop delay in ms above which new requests are refused with 503 and Retry-After
         * (backpressure, with @fastify/under-pressure); 0 turns the check off.
         */
        max_event_loop_delay_ms: z.coerce.number().int().min(0).default(1000),
        /**
         * Event-loop delay refuses a new request only while at least this many others are in
         * flight: with fewer, the lag is their own work (or the runs'), a refusal speeds none of it
         * up and only turns a slow answer into an error. Shedding is for a pile-up.
         */
        shed_min_in_flight: z.coerce.number().int().min(0).default(32),
        /**
         * Every event stream (runs, tasks, chat, /v1/chat/completions, A2A) cuts off a client that
         * takes no bytes for this many ms while it has bytes waiting (it resumes by event id where
         * the stream has ids).
         */
        stream_stall_ms: z.coerce.number().int().min(100).default(10_000),
        /** ... or that has more than this many bytes waiting for it. */
        stream_max_buffered_bytes: z.coerce
          .number()
          .int()
          .min(64 * 1024)
          .default(1024 * 1024),
        /**
         * Admission at the edge (src/http/plugins/admission.ts): past these, a request is refused
         * with 503 and Retry-After before its body is read.
         */
        admission: z
          .object({
            /** A body this large (declared) makes a request a large one. */
            large_body_bytes: z.coerce
              .number()
              .int()
              .positive()
              .default(64 * 1024),
            /** Large requests in flight at once. */
            large_concurrency: z.coerce.number().int().positive().default(16),
            /** Bytes of large bodies in flight at once. */
            large_bytes_in_flight: z.coerce
              .number()
              .int()
              .positive()
              .default(32 * 1024 * 1024),
            /** Knowledge-base ingests in flight at once. */
            ingest_concurrency: z.coerce.number().int().positive().default(8),
          })
          .strict()
          .prefault({}),
        /**
         * Host names (`name`, `name:port`, `*.domain`; `*` for any) this server answers to besides IP
         * addresses, localhost and the host of `a2a.public_url`: DNS-rebinding protection. Checked
         * when set, and always when `host` is a loopback address; a server bound to another address
         * answers any Host until its names are listed here.
         */
        allowed_hosts: stringList,
        /**
         * Origins (`scheme://host[:port]`; `*` for any) whose web pages may call this server besides
         * its own: a request carrying another `Origin` is refused.
         */
        allowed_origins: stringList,
      })
      .strict()
      .prefault({}),
    store: z
      .object({
        /** PostgreSQL connection string; when absent the embedded PGlite store is used. */
        database_url: z.string().optional(),
        /** PGlite data directory; `memory://` keeps everything in memory. */
        data_dir: z.string().default('./.agentry/data'),
        /**
         * PGlite's buffer cache in MB (unset: PGlite's 128). Knowledge-base search reads the HNSW index, the chunks and the
         * GIN index: at 100k chunks of 512 dimensions about 420 MB, so 512 keeps them cached there.
         */
        pglite_shared_buffers_mb: z.coerce.number().int().min(16).max(1024).optional(),
        /**
         * A PGlite data directory saved as a tar file (PGlite's `dumpDataDir`, optionally .tar.gz) that a new
         * store starts from instead of an empty database (an existing store ignores it); migrations still run
         * on it. Unset: the migrated baseline the build makes (dist/pglite-seed.tar.gz, src/db/seed.ts) when it
         * is there; `none`: an empty store. The test suite starts every server, and every process its CLI
         * tests spawn, from one migrated snapshot this way.
         */
        pglite_seed_file: z.string().optional(),
        /**
         * PGlite in a worker thread of its own (db/pglite-threaded.ts) instead of on the event loop:
         * its statements then use a core the HTTP server and the runs do not, at the cost of a message
         * each way per statement.
         */
        pglite_thread: z.union([z.boolean(), z.stringbool()]).default(false),
        /** Most PostgreSQL connections the pool opens (queries beyond it wait for one). */
        pool_max: z.coerce.number().int().positive().default(10),
        /**
         * How long a query may wait for a pool connection before it fails, in ms. Long, so runs and
         * tasks wait through a burst instead of failing: the edge bound below keeps the wait short.
         */
        connect_timeout_ms: z.coerce.number().int().positive().default(30_000),
        /**
         * How long the oldest query waiting for a pool connection may have waited before new HTTP
         * requests are refused with 503 and Retry-After, in ms (backpressure at the edge; 0: off).
         * The wait, not the line's length, says whether the store keeps up: a burst of short
         * queries is queued, a store that has fallen behind is not piled on.
         */
        max_queue_wait_ms: z.coerce.number().int().min(0).default(2000),
        /**
         * Queries waiting for a pool connection above which new HTTP requests are refused the same
         * way, whatever their wait: a backstop on what a line may hold; 0 turns the bound off.
         */
        max_waiting: z.coerce.number().int().min(0).default(10_000),
        /** Retry-After, in seconds, of a 503 answered while the store is unreachable or saturated. */
        retry_after_seconds: z.coerce.number().int().positive().default(5),
      })
      .strict()
      .prefault({}),
    redis_url: z.string().optional(),
    /** Where the first start writes the admin credentials for the CLI (mode 0600). */
    credentials_file: z.string().default('./.agentry/credentials.json'),
    tenants_file: z.string().optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    auth: z
      .object({
        /** `keys` accepts internal secret, JWT and API keys; `dev` also trusts X-User-Id (loopback only). */
        mode: z.enum(['keys', 'dev']).default('keys'),
        internal_secret: z.string().min(16).optional(),
        /**
         * An API key (agk_…) that stands for requests sent without credentials from this machine (a
         * loopback peer, no proxy headers, not another site's page): for local conformance runners
         * that cannot send a key. Unset by default; refused on a server bound to a non-loopback address.
         */
        loopback_key: z.string().min(16).optional(),
        /** A bearer token that reads GET /metrics and nothing else (for Prometheus), besides root admin keys. */
        metrics_token: z.string().min(16).optional(),
        jwt_secret: z.string().min(16).optional(),
        jwks_url: z.url().optional(),
        jwt_issuer: z.string().optional(),
        jwt_audience: z.string().optional(),
        /** Claim holding the tenant id or name. */
        jwt_tenant_claim: z.string().default('tenant_id'),
        /** How long a verified API key is trusted without a database look-up, in ms. */
        key_cache_ms: z.coerce.number().int().min(0).max(10_000).default(1000),
        /** How long a console session (what a sign-in link gives the browser) lasts, in hours. */
        console_session_hours: z.coerce
          .number()
          .positive()
          .max(24 * 90)
          .default(12),
      })
      .strict()
      .prefault({}),
    /** The task queue: in-process workers, leases, retries, per-tenant fairness, callbacks. */
    tasks: z
      .object({
        /** Concurrent tasks run by the workers inside `agentry serve`; 0 runs none (API-only process). */
        workers: z.coerce.number().int().min(0).max(1000).default(4),
        /** Seconds a claimed task stays leased without a heartbeat; renewed every third of it. */
        lease_seconds: z.coerce.number().positive().max(3600).default(30),
        /** Longest idle wait between claims when no NOTIFY arrives (the fallback poll), in seconds. */
        poll_seconds: z.coerce.number().positive().max(3600).default(5),
        /** Most tasks one claim statement takes. */
        claim_batch: z.coerce.number().int().min(1).max(500).default(24),
        /** Retry backoff: full jitter over min(cap, base * 2^(attempt-1)), in seconds. */
        retry_base_seconds: z.coerce.number().min(0).default(2),
        retry_cap_seconds: z.coerce.number().min(0).default(300),
        /** Most tasks of one tenant running at once across all workers; 0 means no cap. */
        tenant_max_running: z.coerce.number().int().min(0).default(100),
        /** Callback delivery: attempts before giving up, and the backoff base/cap in seconds. */
        callback_max_attempts: z.coerce.number().int().min(1).max(100).default(10),
        callback_retry_base_seconds: z.coerce.number().min(0).default(2),
        callback_retry_cap_seconds: z.coerce.number().min(0).default(3600),
        callback_timeout_seconds: z.coerce.number().positive().default(10),
      })
      .strict()
      .refine((t) => t.retry_base_seconds <= t.retry_cap_seconds, {
        message: 'retry_base_seconds must not exceed retry_cap_seconds',
        path: ['retry_base_seconds'],
      })
      .refine((t) => t.callback_retry_base_seconds <= t.callback_retry_cap_seconds, {
        message: 'callback_retry_base_seconds must not exceed callback_retry_cap_seconds',
        path: ['callback_retry_base_seconds'],
      })
      .prefault({}),
    /** Sandboxed tools: per-sandbox limits, the warm pools, per-tool circuit breakers. */
    sandbox: sandboxConfig.prefault({}),
    /** MCP tool servers: tool-list cache, time limits, host paths stdio servers may see. */
    mcp: mcpConfig.prefault({}),
    /** The egress proxy sandboxed and web tools reach the network through. */
    egress: egressConfig.prefault({}),
    models: z
      .object({
        /** Model given to agents that name none. */
        default_model: z.string().default('mock/default'),
        ...modelGatewayConfig,
      })
      .strict()
      .prefault({}),
    /** The agent runtime: chat runs, the tool loop, approval pauses, file-tool workspaces. */
    runtime: z
      .object({
        /** Model calls one run may make before it ends with an error (a request may ask for fewer or more, up to 100). */
        max_steps: z.coerce.number().int().min(1).max(100).default(10),
        /**
         * Bytes of inline data (base64 images, audio, files) one chat message's attachments may
         * carry together, decoded (413 above it). They are stored with the session's history.
         */
        max_attachment_bytes: z.coerce
          .number()
          .int()
          .positive()
          .max(20 * 1024 * 1024)
          .default(20 * 1024 * 1024),
        /**
         * Seconds a running run stays leased without a heartbeat; once it expires, another process
         * takes the run over from its last recorded step (docs/durability.md).
         */
        lease_seconds: z.coerce.number().positive().max(3600).default(30),
        /**
         * Takeovers of a run in a row, each after its process stopped renewing the lease (died or
         * blocked), with no step recorded in between: the next one fails the run as `poisoned`
         * rather than hand it to another process, which its input or tool would block or kill in
         * turn. A recorded step sets the count back to 0; drains do not count (docs/durability.md).
         */
        max_takeovers: z.coerce.number().int().min(0).max(100).default(3),
        /**
         * Seconds a run waits for the result of a tool its caller sent (an agent model called with
         * tools: docs/interop.md) before it is cancelled with code `expired`; nothing runs meanwhile.
         */
        caller_tool_wait_seconds: z.coerce.number().positive().max(86_400).default(900),
        /**
         * At shutdown, seconds runs get to reach a step boundary before they are stopped; either way
         * their leases are released and another process carries them on at once. Keep it below
         * `server.shutdown_grace_seconds`.
         */
        drain_seconds: z.coerce.number().min(0).max(600).default(5),
        /**
         * Record each model answer before its tool calls run, and each tool result as it ends, so a
         * takeover asks no answered question again and reuses every finished result. false: a tool
         * round is written once, when all its calls ended (one statement fewer per round; a takeover
         * then asks the model again for the round in progress).
         */
        record_each_step: z.union([z.boolean(), z.stringbool()]).default(true),
        /** A tool call's time limit, unless the tool sets its own. */
        tool_timeout_ms: z.coerce.number().int().positive().default(30_000),
        /** File tools work in `<workspaces_dir>/<tenant id>/<session id>` and nowhere else. */
        workspaces_dir: z.string().default('./.agentry/workspaces'),
        /** Days an ended run and its trace (steps) are kept; 0 keeps them for ever. */
        run_retention_days: z.coerce.number().min(0).max(36_500).default(30),
        /** How often runs past their retention are looked for and deleted (hourly by default). */
        run_retention_sweep_seconds: z.coerce.number().min(0.05).max(86_400).default(3600),
        /** Calls to remote agents' runtimes (`runtime_url`): time limit, answer size, retries, breaker per endpoint. */
        remote: z
          .object({
            timeout_ms: z.coerce.number().int().positive().default(30_000),
            max_bytes: z.coerce
              .number()
              .int()
              .positive()
              .default(2 * 1024 * 1024),
            retries: retryOptions(2, 200, 5_000),
            breaker: breakerOptions(5, 30_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Knowledge bases: chunking, document size, and the embedding provider behind vector search. */
    memory: z
      .object({
        /** Largest chunk, in characters (about a quarter as many tokens). */
        chunk_chars: z.coerce.number().int().min(200).max(20_000).default(1200),
        /** Characters from the end of one chunk repeated at the start of the next in the same section. */
        overlap_chars: z.coerce.number().int().min(0).max(5000).default(200),
        /** Largest document accepted, in bytes. */
        max_document_bytes: z.coerce
          .number()
          .int()
          .positive()
          .default(20 * 1024 * 1024),
        /** Vectors the exact scan (stores without pgvector) keeps in memory across knowledge bases. */
        vector_cache_chunks: z.coerce.number().int().min(0).default(500_000),
        /** Days a finished background ingest's record (progress, per-item results) is kept; 0 keeps them. */
        ingest_retention_days: z.coerce.number().min(0).max(36_500).default(7),
        /** Session history sent with each model call, in tokens; older turns are dropped behind a marker. */
        history_tokens: z.coerce.number().int().min(100).max(2_000_000).default(16_000),
        /** Chunks retrieved per turn from an agent's bound (non-persona) knowledge bases. */
        retrieval_top_k: z.coerce.number().int().min(0).max(50).default(5),
        /** Most persona knowledge put in the system message, in tokens (cut with a marker beyond). */
        persona_tokens: z.coerce.number().int().min(100).max(200_000).default(4_000),
        /**
         * How hybrid search fuses full-text and vectors (a request may set its own): `score` (default
         * weights 1:3) or `rrf`, weighted reciprocal rank fusion (default 1:0.3). The weights belong
         * to this method; each left out takes the method's default.
         */
        fusion: z
          .object({
            method: z.enum(['score', 'rrf']).default('score'),
            text: z.coerce.number().min(0).max(100).optional(),
            vector: z.coerce.number().min(0).max(100).optional(),
          })
          .strict()
          .prefault({}),
        embeddings: z
          .object({
            /**
             * `none`: full-text search only. `offline`: the Universal Sentence Encoder shipped in an
             * npm package, run in-process. `gateway`: an OpenAI-compatible `/v1/embeddings` model
             * through the model gateway (budgets and usage apply).
             */
            provider: z.enum(['none', 'offline', 'gateway']).default('none'),
            /** The gateway model (`provider/model` or an alias), with provider `gateway`. */
            model: z.string().optional(),
          })
          .strict()
          .refine((e) => e.provider !== 'gateway' || !!e.model, 'provider gateway needs a model')
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Scaling out: what this process does in a fleet sharing one PostgreSQL and one Redis. */
    fleet: z
      .object({
        /**
         * `api` serves HTTP and runs chats but claims no task; `worker` claims and runs tasks and
         * serves only the health and metrics endpoints; `all` (one process, the default) does both.
         */
        role: z.enum(['api', 'worker', 'all']).default('all'),
        /** How often this process publishes its warm sandbox pool stats for fleet-wide totals (Redis). */
        stats_seconds: z.coerce.number().positive().max(3600).default(5),
      })
      .strict()
      .prefault({}),
    /** The six-agent operations team (LUMINA, SAM, EIVOR, ORACLE, CONNOR, AEGIS, from built-in templates). */
    /** Evaluation: evaluators attached to an agent score a sample of its live runs. */
    eval: z
      .object({
        /** The share of an agent's live runs its evaluators score, when its attachment names none (0 to 1). */
        live_sample_rate: z.coerce.number().min(0).max(1).default(0.1),
      })
      .strict()
      .prefault({}),
    ops_team: z
      .object({
        /** Create the team's agents in the default tenant when that tenant is first created. */
        seed: z.union([z.boolean(), z.stringbool()]).default(true),
      })
      .strict()
      .prefault({}),
    /** A2A (Agent2Agent): agents served at /a2a/{agent_id}, and remote A2A agents as `env: a2a`. */
    a2a: z
      .object({
        /**
         * The agent (id, or name in the default tenant) whose card /.well-known/agent-card.json
         * serves, for tools that look for one agent at a host's root; unset: that path serves no
         * card (a card without an endpoint is none a client can use), but a 404 listing the
         * published agents' cards.
         */
        root_agent: z.string().min(1).max(200).optional(),
        /** This server's public base URL, written in the cards; unset: taken from each request's Host. */
        public_url: z.url({ protocol: /^https?$/ }).optional(),
        /** Deadline of one call to a remote A2A agent (its card, or a message until it answers). */
        timeout_ms: z.coerce.number().int().positive().default(120_000),
        /** Largest answer read from a remote A2A agent, in bytes. */
        max_bytes: z.coerce
          .number()
          .int()
          .positive()
          .default(2 * 1024 * 1024),
        /** Attempts after the first on network errors, timeouts, 429 and 5xx (full jitter). */
        retries: z.coerce.number().int().min(0).max(10).default(2),
        /** Consecutive failures that open a remote agent's circuit breaker, and how long it stays open. */
        breaker_failures: z.coerce.number().int().positive().default(5),
        breaker_reset_ms: z.coerce.number().int().positive().default(30_000),
        /** Deadline of one push notification to an A2A client. */
        push_timeout_ms: z.coerce.number().int().positive().default(5_000),
        /**
         * Longest a blocking SendMessage (`message/send` without `returnImmediately`) waits for its
         * task to end or pause before answering with the task as it is (working); the client then
         * follows it with GetTask or SubscribeToTask. 0 waits as long as the task runs (the spec's
         * behaviour).
         */
        send_wait_ms: z.coerce.number().int().min(0).default(0),
        /** Push notification configs one task may have. */
        push_max_per_task: z.coerce.number().int().min(1).max(100).default(10),
      })
      .strict()
      .prefault({}),
    /**
     * The earlier systems' HTTP contracts (src/http/compat/), one switch per family. Unset: on with
     * the embedded store, off on PostgreSQL (a deployment turns on the families its clients use).
     */
    compat: compatConfig,
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

export type ConfigInput = z.input<typeof configSchema>;

type Env = Record<string, string | undefined>;

/** Environment variables and where they land in the config tree. */
/** SomaAgent01's seconds, read into a setting kept in milliseconds; a value that is not a number passes as is, for the schema to report. */
const secondsToMs = (v: string) =>
  v.trim() !== '' && Number.isFinite(Number(v)) ? String(Math.round(Number(v) * 1000)) : v;

/** Variable, its place in the config tree, and a conversion of its text where the units differ. */
const envMap: Array<[string, string[], ((v: string) => string)?]> = [
  ['AGENTRY_HOST', ['server', 'host']],
  ['AGENTRY_PORT', ['server', 'port']],
  ['AGENTRY_BODY_LIMIT', ['server', 'body_limit']],
  ['AGENTRY_JSON_MAX_DEPTH', ['server', 'json_max_depth']],
  ['AGENTRY_COMPRESS', ['server', 'compress']],
  ['AGENTRY_COMPRESS_MIN_BYTES', ['server', 'compress_min_bytes']],
  ['AGENTRY_ALLOWED_HOSTS', ['server', 'allowed_hosts']],
  ['AGENTRY_ALLOWED_ORIGINS', ['server', 'allowed_origins']],
  ['AGENTRY_A2A_PUBLIC_URL', ['a2a', 'public_url']],
  ['AGENTRY_A2A_ROOT_AGENT', ['a2a', 'root_agent']],
  ['DATABASE_URL', ['store', 'database_url']],
  ['AGENTRY_DATA_DIR', ['store', 'data_dir']],
  ['AGENTRY_DB_POOL_MAX', ['store', 'pool_max']],
  ['AGENTRY_DB_CONNECT_TIMEOUT_MS', ['store', 'connect_timeout_ms']],
  ['AGENTRY_DB_MAX_WAITING', ['store', 'max_waiting']],
  ['AGENTRY_DB_MAX_QUEUE_WAIT_MS', ['store', 'max_queue_wait_ms']],
  ['AGENTRY_MAX_EVENT_LOOP_DELAY_MS', ['server', 'max_event_loop_delay_ms']],
  ['AGENTRY_SHED_MIN_IN_FLIGHT', ['server', 'shed_min_in_flight']],
  ['AGENTRY_STREAM_STALL_MS', ['server', 'stream_stall_ms']],
  ['AGENTRY_STREAM_MAX_BUFFERED_BYTES', ['server', 'stream_max_buffered_bytes']],
  ['AGENTRY_MAX_LARGE_REQUESTS', ['server', 'admission', 'large_concurrency']],
  ['AGENTRY_MAX_LARGE_REQUEST_BYTES', ['server', 'admission', 'large_bytes_in_flight']],
  ['AGENTRY_MAX_INGESTS', ['server', 'admission', 'ingest_concurrency']],
  ['AGENTRY_PGLITE_SHARED_BUFFERS_MB', ['store', 'pglite_shared_buffers_mb']],
  ['AGENTRY_PGLITE_SEED_FILE', ['store', 'pglite_seed_file']],
  ['AGENTRY_PGLITE_THREAD', ['store', 'pglite_thread']],
  ['REDIS_URL', ['redis_url']],
  ['AGENTRY_CREDENTIALS_FILE', ['credentials_file']],
  ['AGENTRY_TENANTS_FILE', ['tenants_file']],
  ['AGENTRY_LOG_LEVEL', ['log_level']],
  ['AGENTRY_AUTH_MODE', ['auth', 'mode']],
  ['AGENTRY_INTERNAL_SECRET', ['auth', 'internal_secret']],
  ['AGENTRY_METRICS_TOKEN', ['auth', 'metrics_token']],
  ['AGENTRY_LOOPBACK_KEY', ['auth', 'loopback_key']],
  ['AGENTRY_JWT_SECRET', ['auth', 'jwt_secret']],
  ['AGENTRY_JWKS_URL', ['auth', 'jwks_url']],
  ['AGENTRY_JWT_ISSUER', ['auth', 'jwt_issuer']],
  ['AGENTRY_JWT_AUDIENCE', ['auth', 'jwt_audience']],
  ['AGENTRY_DEFAULT_MODEL', ['models', 'default_model']],
  ['AGENTRY_WORKERS', ['tasks', 'workers']],
  ['AGENTRY_ROLE', ['fleet', 'role']],
  ['AGENTRY_LEASE_SECONDS', ['tasks', 'lease_seconds']],
  ['AGENTRY_RUN_RETENTION_DAYS', ['runtime', 'run_retention_days']],
  ['AGENTRY_INGEST_RETENTION_DAYS', ['memory', 'ingest_retention_days']],
  ['AGENTRY_EMBEDDINGS', ['memory', 'embeddings', 'provider']],
  ['AGENTRY_EMBEDDINGS_MODEL', ['memory', 'embeddings', 'model']],
  ['AGENTRY_FUSION_METHOD', ['memory', 'fusion', 'method']],
  ['AGENTRY_FUSION_TEXT', ['memory', 'fusion', 'text']],
  ['AGENTRY_FUSION_VECTOR', ['memory', 'fusion', 'vector']],
  ['AGENTRY_SEED_OPS_TEAM', ['ops_team', 'seed']],
  ['AGENTRY_EVAL_LIVE_SAMPLE_RATE', ['eval', 'live_sample_rate']],
  ...compatSwitchVariables,
  ['AGENTRY_COMPAT_RUN_OWNER', ['compat', 'run_owner']],
  // PAGI's own variable names, read as its deployments set them (docs/compat.md).
  ['REQUEST_TIMEOUT_SECONDS', ['compat', 'pagi_request_timeout_seconds']],
  ['PAGI_API_KEY', ['compat', 'pagi_api_key']],
  ['AGENTRY_ISA_POOL_IDLE_MS', ['compat', 'isa_pool_idle_ms']],
  ['AGENTRY_SOMA_EXTERNAL_TOPICS', ['compat', 'soma_external', 'topics']],
  ['AGENTRY_SOMA_EXTERNAL_TASK_TYPES', ['compat', 'soma_external', 'task_types']],
  // Tuning: breakers, retries, timeouts and leases (docs/settings.md lists them all).
  ['AGENTRY_MODEL_RETRIES', ['models', 'retries', 'max']],
  ['AGENTRY_MODEL_RETRY_BASE_MS', ['models', 'retries', 'base_ms']],
  ['AGENTRY_MODEL_RETRY_MAX_MS', ['models', 'retries', 'max_ms']],
  ['AGENTRY_MODEL_BREAKER_THRESHOLD', ['models', 'breaker', 'failure_threshold']],
  ['AGENTRY_MODEL_BREAKER_RESET_MS', ['models', 'breaker', 'reset_ms']],
  ['AGENTRY_MODEL_CONNECT_TIMEOUT_MS', ['models', 'timeouts', 'connect_ms']],
  ['AGENTRY_MODEL_FIRST_BYTE_TIMEOUT_MS', ['models', 'timeouts', 'first_byte_ms']],
  ['AGENTRY_MODEL_TOTAL_TIMEOUT_MS', ['models', 'timeouts', 'total_ms']],
  ['AGENTRY_MODEL_DEFAULT_MAX_TOKENS', ['models', 'default_max_tokens']],
  ['AGENTRY_OFFLINE_ENCODER_THREADS', ['models', 'offline_encoder', 'threads']],
  ['AGENTRY_OFFLINE_ENCODER_DEADLINE_MS', ['models', 'offline_encoder', 'deadline_ms']],
  // SomaAgent01's tool-executor knobs (docs/compat.md); Agentry's own names below win when both are set.
  ['TOOL_EXECUTOR_CIRCUIT_FAILURE_THRESHOLD', ['sandbox', 'breaker', 'failure_threshold']],
  ['TOOL_EXECUTOR_CIRCUIT_RESET_TIMEOUT_SECONDS', ['sandbox', 'breaker', 'reset_ms'], secondsToMs],
  ['AGENTRY_TOOL_BREAKER_THRESHOLD', ['sandbox', 'breaker', 'failure_threshold']],
  ['AGENTRY_TOOL_BREAKER_RESET_MS', ['sandbox', 'breaker', 'reset_ms']],
  ['AGENTRY_TOOL_TIMEOUT_MS', ['runtime', 'tool_timeout_ms']],
  ['AGENTRY_SANDBOX_TIMEOUT_MS', ['sandbox', 'limits', 'timeout_ms']],
  ['AGENTRY_RUN_LEASE_SECONDS', ['runtime', 'lease_seconds']],
  ['AGENTRY_RUN_MAX_TAKEOVERS', ['runtime', 'max_takeovers']],
  ['AGENTRY_CALLER_TOOL_WAIT_SECONDS', ['runtime', 'caller_tool_wait_seconds']],
  ['AGENTRY_REMOTE_TIMEOUT_MS', ['runtime', 'remote', 'timeout_ms']],
  ['AGENTRY_REMOTE_RETRIES', ['runtime', 'remote', 'retries', 'max']],
  ['AGENTRY_REMOTE_RETRY_BASE_MS', ['runtime', 'remote', 'retries', 'base_ms']],
  ['AGENTRY_REMOTE_RETRY_MAX_MS', ['runtime', 'remote', 'retries', 'max_ms']],
  ['AGENTRY_REMOTE_BREAKER_THRESHOLD', ['runtime', 'remote', 'breaker', 'failure_threshold']],
  ['AGENTRY_REMOTE_BREAKER_RESET_MS', ['runtime', 'remote', 'breaker', 'reset_ms']],
  ['AGENTRY_TASK_RETRY_BASE_SECONDS', ['tasks', 'retry_base_seconds']],
  ['AGENTRY_TASK_RETRY_CAP_SECONDS', ['tasks', 'retry_cap_seconds']],
  ['AGENTRY_CALLBACK_MAX_ATTEMPTS', ['tasks', 'callback_max_attempts']],
  ['AGENTRY_CALLBACK_RETRY_BASE_SECONDS', ['tasks', 'callback_retry_base_seconds']],
  ['AGENTRY_CALLBACK_RETRY_CAP_SECONDS', ['tasks', 'callback_retry_cap_seconds']],
  ['AGENTRY_CALLBACK_TIMEOUT_SECONDS', ['tasks', 'callback_timeout_seconds']],
  ['AGENTRY_MCP_CONNECT_TIMEOUT_MS', ['mcp', 'connect_timeout_ms']],
  ['AGENTRY_MCP_CALL_TIMEOUT_MS', ['mcp', 'call_timeout_ms']],
  ['AGENTRY_SANDBOX_ACQUIRE_TIMEOUT_MS', ['sandbox', 'pools', 'bwrap', 'acquire_timeout_ms']],
  ['AGENTRY_A2A_TIMEOUT_MS', ['a2a', 'timeout_ms']],
  ['AGENTRY_A2A_RETRIES', ['a2a', 'retries']],
  ['AGENTRY_A2A_BREAKER_THRESHOLD', ['a2a', 'breaker_failures']],
  ['AGENTRY_A2A_BREAKER_RESET_MS', ['a2a', 'breaker_reset_ms']],
  ['AGENTRY_A2A_PUSH_TIMEOUT_MS', ['a2a', 'push_timeout_ms']],
];

/**
 * Secrets may come from the environment or from a file named by `<VAR>_FILE` (Docker and
 * Kubernetes secrets are mounted as files), never from agentry.yaml: that file gets committed.
 */
const secretEnv = [
  'DATABASE_URL',
  'REDIS_URL',
  'AGENTRY_INTERNAL_SECRET',
  'AGENTRY_JWT_SECRET',
  'AGENTRY_METRICS_TOKEN',
  'AGENTRY_LOOPBACK_KEY',
  'PAGI_API_KEY',
];

/** A connection string is a secret when it carries a password. */
const hasPassword = (value: unknown) => {
  try {
    return typeof value === 'string' && new URL(value).password !== '';
  } catch {
    return false;
  }
};

/** Fields refused in agentry.yaml, with the variable to use instead. */
const fileSecrets: Array<[string[], string, (value: unknown) => boolean]> = [
  [['store', 'database_url'], 'DATABASE_URL', hasPassword],
  [['redis_url'], 'REDIS_URL', hasPassword],
  [['auth', 'internal_secret'], 'AGENTRY_INTERNAL_SECRET', () => true],
  [['auth', 'jwt_secret'], 'AGENTRY_JWT_SECRET', () => true],
  [['auth', 'metrics_token'], 'AGENTRY_METRICS_TOKEN', () => true],
  [['auth', 'loopback_key'], 'AGENTRY_LOOPBACK_KEY', () => true],
  [['compat', 'pagi_api_key'], 'PAGI_API_KEY', () => true],
];

/** agentry.yaml: any part of the config, secrets excepted. */
const fileSchema = configSchema.partial().superRefine((value, ctx) => {
  for (const [keys, variable, isSecret] of fileSecrets) {
    const found = keys.reduce<unknown>((node, k) => (node as Tree | undefined)?.[k], value);
    if (found !== undefined && isSecret(found)) {
      ctx.addIssue({
        code: 'custom',
        path: keys,
        message: `a secret does not belong in a config file; set ${variable} (or ${variable}_FILE) in the environment`,
      });
    }
  }
});

type Tree = Record<string, unknown>;

function setIn(tree: Tree, keys: string[], value: unknown): void {
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys.at(-1)!] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Tree, v as Tree)
        : v;
  }
  return out;
}

function has(tree: Tree, keys: readonly PropertyKey[]): boolean {
  let node: unknown = tree;
  for (const key of keys) {
    if (!node || typeof node !== 'object' || !Object.hasOwn(node, key)) return false;
    node = (node as Tree)[key as string];
  }
  return node !== undefined;
}

/** The environment with every `<SECRET>_FILE` variable replaced by its file's content. */
function withSecretFiles(env: Env): Env {
  const out: Env = { ...env };
  for (const name of secretEnv) {
    const file = env[`${name}_FILE`];
    if (!file) continue;
    if (env[name]) {
      throw new AppError('config_error', `${name} and ${name}_FILE are both set; set only one`);
    }
    try {
      out[name] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new AppError('config_error', `${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return out;
}

export interface LoadConfigOptions {
  env?: Env;
  /** Values from command-line flags, in the config tree's shape. */
  flags?: ConfigInput;
  /** Path of agentry.yaml; defaults to AGENTRY_CONFIG or ./agentry.yaml when it exists. */
  file?: string;
}

/** Builds the config from defaults, agentry.yaml, env and flags; throws a config error naming the source. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = withSecretFiles(options.env ?? process.env);
  const file =
    options.file ?? env.AGENTRY_CONFIG ?? (existsSync('agentry.yaml') ? 'agentry.yaml' : undefined);

  let fromFile: Tree = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new AppError('config_error', `${file}: cannot read the config file: ${(err as Error).message}`);
    }
    // Validated on its own first, so a mistake is reported with its line; merged as written, so
    // the file's section defaults never mask a value from the environment.
    parseYamlWithSchema(text, file, fileSchema);
    fromFile = (parseYaml(text) as Tree | null) ?? {};
  }

  const fromEnv: Tree = {};
  for (const [name, keys, convert] of envMap) {
    const value = env[name];
    if (value !== undefined && value !== '') setIn(fromEnv, keys, convert ? convert(value) : value);
  }

  const flags = (options.flags ?? {}) as Tree;
  const merged = merge(merge(fromFile, fromEnv), flags);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    // Name where each bad value came from: the flag, the variable, or the file.
    const detail = parsed.error.issues.map((issue) => {
      const field = issue.path.join('.') || '(root)';
      // The variable that set it: the last one set for the field (the one that won).
      const variable = envMap.findLast(([name, keys]) => keys.join('.') === field && env[name])?.[0];
      const source = has(flags, issue.path)
        ? 'command-line flag'
        : variable && has(fromEnv, issue.path)
          ? variable
          : (file ?? 'defaults');
      const value = issue.path.reduce<unknown>(
        (node, k) => (node as Tree | undefined)?.[k as string],
        merged,
      );
      // A secret's value stays out of the message, which goes to logs and terminals.
      const secret = variable !== undefined && secretEnv.includes(variable);
      const got =
        value === undefined || typeof value === 'object' || secret ? '' : ` (got ${JSON.stringify(value)})`;
      return `${source}: ${field}: ${issue.message}${got}`;
    });
    throw new AppError('config_error', `invalid configuration:\n${detail.join('\n')}`);
  }
  const config = parsed.data;
  if (!config.tenants_file && existsSync('tenants.yaml')) config.tenants_file = path.resolve('tenants.yaml');
  return config;
}

/** A config for tests, benchmarks and embedding: defaults plus the given overrides, no env and no files. */
export function testConfig(overrides: ConfigInput = {}): Config {
  // No shedding on event-loop delay unless a test asks for it: on a busy machine it would turn any
  // test's requests into 503s.
  return configSchema.parse({ ...overrides, server: { max_event_loop_delay_ms: 0, ...overrides.server } });
}
