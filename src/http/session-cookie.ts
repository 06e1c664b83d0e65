import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';

/**
 * The console's session rides in a cookie the page cannot read (HttpOnly), sent to this server's
 * own pages only (SameSite=Strict), over TLS only where the request came over it (Secure): every
 * tab of the browser shares it, and no script, extension or XSS finds a credential in page storage.
 */
export const SESSION_COOKIE = 'agentry_session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session cookie's value, when the request carries one. */
function cookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/**
 * The cookie's session as an Authorization value, for a request that sends no credentials of its
 * own. A request that changes something must come from the console's own origin: SameSite=Strict
 * keeps the cookie off other sites' requests already, and this holds where a browser does not
 * (old ones, or a same-site page on another port).
 */
export function sessionAuthorization(request: FastifyRequest): string | undefined {
  const token = cookieOf(request);
  if (!token) return undefined;
  if (!SAFE_METHODS.has(request.method) && !sameOrigin(request)) {
    throw new AppError(
      'forbidden',
      "a console session cookie is taken only from the console's own pages: send an API key for requests from elsewhere",
    );
  }
  return `Bearer ${token}`;
}

function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    // An Origin header that is no URL is no origin of ours.
    return false;
  }
}

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  expiresAt: string,
) {
  const maxAge = Math.max(0, Math.floor((Date.parse(expiresAt) - Date.now()) / 1000));
  reply.header('set-cookie', cookieText(request, token, maxAge));
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply) {
  if (cookieOf(request) !== undefined) reply.header('set-cookie', cookieText(request, '', 0));
}

const cookieText = (request: FastifyRequest, value: string, maxAge: number) =>
  `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${
    request.protocol === 'https' ? '; Secure' : ''
  }`;
