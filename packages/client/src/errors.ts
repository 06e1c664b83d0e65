/** The body of every error answer of the API (`src/http/plugins/errors.ts` writes it). */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  request_id: string;
}

/**
 * An answer that was not a success, or a stream that could not be resumed: `status` and `code` say
 * what, `requestId` names the request in the server's logs and journal (`X-Request-Id`), `body` is
 * the server's error body as sent.
 */
export class AgentryError extends Error {
  override readonly name = 'AgentryError';

  constructor(
    /** The HTTP status; 0 when no answer came (the connection failed or a stream could not resume). */
    readonly status: number,
    /** The server's error code (`not_found`, `validation_error`…), or `connection_error` when no answer came. */
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
    readonly body: ErrorBody | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get details(): unknown {
    return this.body?.error.details;
  }

  /** The error an answer stands for: the server's body when it is one, else its status line. */
  static fromAnswer(response: Response, parsed: unknown): AgentryError {
    const body = isErrorBody(parsed) ? parsed : undefined;
    const requestId = body?.request_id ?? response.headers.get('x-request-id') ?? undefined;
    return new AgentryError(
      response.status,
      body?.error.code ?? `http_${response.status}`,
      body?.error.message ?? `${response.status} ${response.statusText}`.trim(),
      requestId,
      body,
    );
  }

  /** Reads an error answer's body (JSON when it is JSON). */
  static async read(response: Response): Promise<AgentryError> {
    const text = await response.text().catch(() => '');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's page): the error carries the text as it came.
    }
    return AgentryError.fromAnswer(response, parsed);
  }

  /** A request that got no answer at all (refused, reset, or cut before a stream could resume). */
  static connection(message: string, cause: unknown, requestId?: string): AgentryError {
    return new AgentryError(0, 'connection_error', message, requestId, undefined, { cause });
  }
}

function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== 'object' || v === null) return false;
  const e = (v as { error?: unknown }).error;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}
