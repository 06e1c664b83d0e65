import { parseRetryAfter } from '../../resilience/retry.ts';
import { UpstreamError } from '../provider.ts';

/**
 * Bedrock's exceptions by name, as the HTTP status the gateway's retry, breaker and error
 * catalogue act on. Most carry their own status; these do not (an exception inside a 200 event
 * stream has none) or carry one that says the wrong thing to a retry:
 */
const statusByName: Record<string, number> = {
  ThrottlingException: 429,
  // "Resubmit your request later": the account's quota, not the caller's request.
  ServiceQuotaExceededException: 429,
  ModelNotReadyException: 429,
  ModelTimeoutException: 408,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  // The model failed mid-answer (HTTP 424): the endpoint's trouble, not the caller's.
  ModelStreamErrorException: 502,
  ModelErrorException: 502,
  ValidationException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
};

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

/** Maps what the AWS SDK threw (a service exception, a credentials or transport failure) to UpstreamError. */
export function fromAwsError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? '';
  if (name === 'AbortError') return new UpstreamError('aborted', 'aborted', { cause: err });
  if (name === 'CredentialsProviderError') {
    // The operator's setup, not the caller's request: 401 becomes a 502 that says what is missing.
    return new UpstreamError('http', `no AWS credentials: ${e.message}`, { status: 401, cause: err });
  }
  if (/^Region is missing/.test(e.message ?? '')) {
    return new UpstreamError(
      'http',
      'no AWS region: set `region` on the provider (models.providers) or AWS_REGION',
      {
        status: 401,
        cause: err,
      },
    );
  }
  if (name === 'TimeoutError' || /TIMEOUT|ETIMEDOUT/.test(e.code ?? '')) {
    return new UpstreamError('timeout', `timed out talking to the provider (${e.code ?? name})`, {
      cause: err,
    });
  }
  const status = statusByName[name] ?? e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400) {
    return new UpstreamError('http', `${name}: ${e.message ?? 'no message'}`, {
      status,
      retryAfter: parseRetryAfter(e.$response?.headers?.['retry-after']),
      cause: err,
    });
  }
  return new UpstreamError('network', e.message || String(err), { cause: err });
}
