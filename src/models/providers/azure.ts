import { isAzureV1 } from '../../config/models-config.ts';
import { AppError } from '../../errors.ts';
import { type ProviderFactory, UpstreamError } from '../provider.ts';
import { OpenAIProvider, type OpenAIWire } from './openai.ts';

/**
 * Azure OpenAI: OpenAI's Chat Completions and embeddings with the key in an `api-key` header, in
 * one of two shapes, told apart by the `base_url` (config checks the pair):
 *  - the deployments API (`base_url: https://<resource>.openai.azure.com`, with `api_version`): the
 *    model of `<provider>/<deployment>` is the deployment, in the path,
 *    `/openai/deployments/<deployment>/chat/completions?api-version=<api_version>`;
 *  - the v1 API (`base_url: https://<resource>.openai.azure.com/openai/v1`): OpenAI's own paths,
 *    the deployment as `model` in the body, and `api-version` only if one is set (`preview`).
 * The answers are OpenAI's (with Azure's content-filter annotations, not passed on), so the OpenAI
 * provider reads them; only the wire differs.
 */
export const azure: ProviderFactory = (s) => {
  const base = s.endpoint.base_url;
  if (!base)
    throw new AppError('config_error', `models.providers.${s.name}.base_url: an azure provider needs one`);
  const version = s.endpoint.api_version;
  const query = version ? `?api-version=${version}` : '';
  const v1 = isAzureV1(base);
  const wire: OpenAIWire = {
    type: 'azure',
    keyHeader: 'api-key',
    path: v1
      ? (operation) => `/${operation}${query}`
      : (operation, deployment) => `/openai/deployments/${checked(deployment)}/${operation}${query}`,
  };
  return new OpenAIProvider(s.name, {
    baseURL: base,
    apiKey: s.apiKey,
    headers: s.headers,
    timeouts: s.timeouts,
    wire,
  });
};

/**
 * The caller's model name becomes a path segment of the operator's resource: only a deployment
 * name's characters (letters, digits, `-`, `_`, `.`, not leading) may reach it, so no caller can
 * walk the path (`..`) or add a query to a call made with the operator's key.
 */
function checked(deployment: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/.test(deployment)) return deployment;
  throw new UpstreamError(
    'http',
    `"${deployment.slice(0, 80)}" is not an Azure deployment name (letters, digits, - _ .; up to 64)`,
    { status: 400 },
  );
}
