import type { ProviderConfig } from '../../config/models-config.ts';
import { AppError } from '../../errors.ts';

/**
 * An endpoint's extra headers (`headers_env`: header name -> environment variable), read from the
 * environment so no value sits in a config file. A variable that is unset leaves its header out
 * (an optional attribution header such as OpenRouter's `HTTP-Referer`); one whose value could not
 * travel in a header (a line break) stops the start with the variable's name, not every call.
 */
export function headersFromEnv(
  name: string,
  endpoint: ProviderConfig,
  env: Record<string, string | undefined>,
): Record<string, string> | undefined {
  if (!endpoint.headers_env) return undefined;
  const headers: Record<string, string> = {};
  for (const [header, variable] of Object.entries(endpoint.headers_env)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value))
      throw new AppError(
        'config_error',
        `models.providers.${name}.headers_env.${header}: ${variable} holds a control character`,
      );
    headers[header.toLowerCase()] = value;
  }
  return headers;
}
