import { AppError } from '../errors.ts';
import { refusedUrl } from '../net/ssrf.ts';

/** Throws 400 when `url` may not be a callback target under the tenant's policy. */
export function assertCallbackUrl(url: string, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const reason = refusedUrl(url);
  if (reason) {
    throw new AppError('validation_error', `callback_url refused: ${reason}`, {
      details: [{ in: 'body', path: 'callback_url', message: reason }],
    });
  }
}
