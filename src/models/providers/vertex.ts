import type { GoogleAuth } from 'google-auth-library';
import { AppError } from '../../errors.ts';
import { type ProviderFactory, UpstreamError } from '../provider.ts';
import type { CallerSignal } from '../types.ts';
import { GeminiProvider } from './gemini.ts';

/**
 * `type: vertex` in `models.providers`: Google's Gemini models on Vertex AI, in a project and a
 * location (`global` unless set). The same `generateContent` body as the Gemini API (gemini.ts), at
 * `https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/
 * publishers/google/models/{model}:generateContent`, with an access token from Application Default
 * Credentials instead of an API key. A type of its own rather than a flag on `gemini`: it takes
 * other fields (project, location, no key variable), and config refuses it without its project.
 */
export const vertex: ProviderFactory = (s) => {
  const { project, location = 'global' } = s.endpoint;
  if (!project) {
    throw new AppError(
      'config_error',
      `models.providers.${s.name}.project: a vertex provider needs its project`,
    );
  }
  const host = location === 'global' ? 'aiplatform.googleapis.com' : `${location}-aiplatform.googleapis.com`;
  const credentials = new VertexCredentials(project);
  return new GeminiProvider(
    s.name,
    {
      type: 'vertex',
      baseURL: s.endpoint.base_url ?? `https://${host}/v1`,
      modelPath: (model, method) =>
        `/projects/${project}/locations/${location}/publishers/google/models/${model}:${method}`,
      headers: (signal) => credentials.headers(signal),
      embeddings: 'predict',
    },
    s.timeouts,
    s.headers,
  );
};

/**
 * Vertex AI's credentials: Google's Application Default Credentials, through the official
 * `google-auth-library` (GOOGLE_APPLICATION_CREDENTIALS naming a service account, workload identity
 * federation or `gcloud auth application-default login` file, else the metadata server on Google
 * Cloud). The library caches each access token and refreshes it before it expires, so a call waits
 * on the token endpoint only about once an hour. Its requests to the token endpoint are its own,
 * not the gateway's: they are not bounded by the model call's timeouts, but a call whose caller
 * gives up stops waiting for them.
 */
class VertexCredentials {
  private auth?: Promise<GoogleAuth>;

  /**
   * `project`: the configured one. Given, the library does not look for a project of its own
   * (gcloud's config, the metadata server, Cloud Resource Manager for federated credentials), which
   * took seconds, or failed, before the first token.
   */
  constructor(private readonly project: string) {}

  /** The library is loaded by the first call, not by every process whose gateway could use Vertex. */
  private client(): Promise<GoogleAuth> {
    this.auth ??= import('google-auth-library').then(
      ({ GoogleAuth }) =>
        new GoogleAuth({ projectId: this.project, scopes: 'https://www.googleapis.com/auth/cloud-platform' }),
    );
    return this.auth;
  }

  /** The headers that authorise one call: `Authorization: Bearer …`, and a quota project if set. */
  async headers(signal: CallerSignal): Promise<Record<string, string>> {
    let headers: Headers;
    try {
      headers = await untilAborted(
        this.client().then((auth) => auth.getRequestHeaders()),
        signal,
      );
    } catch (err) {
      throw credentialsError(err);
    }
    const out: Record<string, string> = {};
    headers.forEach((value, name) => {
      out[name] = value;
    });
    return out;
  }
}

/** The promise, or an aborted UpstreamError as soon as the caller gives up. */
function untilAborted<T>(promise: Promise<T>, signal: CallerSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new UpstreamError('aborted', 'aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new UpstreamError('aborted', 'aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * No token: the operator's setup, not the caller's request. A token endpoint that failed on its side
 * is worth another attempt; credentials it refused, or none found, are not (502, never retried).
 */
function credentialsError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = (err ?? {}) as { message?: string; code?: unknown; response?: { status?: number } };
  const message = `Vertex AI credentials (Application Default Credentials): ${e.message ?? String(err)}`;
  const status = e.response?.status;
  // A socket's error code (ECONNREFUSED, ETIMEDOUT): the token endpoint was not reached.
  const unreached = status === undefined && typeof e.code === 'string' && /^(E[A-Z]|UND_)/.test(e.code);
  if (unreached || (status !== undefined && status >= 500)) {
    return new UpstreamError('network', message, { cause: err });
  }
  return new UpstreamError('http', message, { status: 401, cause: err });
}
