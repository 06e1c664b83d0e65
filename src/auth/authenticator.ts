import { timingSafeEqual } from 'node:crypto';
import {
  createRemoteJWKSet,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import type { Config } from '../config/config.ts';
import { AppError } from '../errors.ts';
import type { ApiKeyService } from './api-keys.ts';
import { looksLikeApiKey } from './api-keys.ts';
import { type ConsoleSessionService, looksLikeConsoleSession } from './console-sessions.ts';
import { scopes as allScopes, type Principal, ROOT_TENANT, type Scope } from './principal.ts';
import type { TenantService } from './tenants.ts';

/** The request facts authentication looks at; the HTTP layer fills it from headers. */
export interface Credentials {
  header(name: string): string | undefined;
  /** Sent straight from this machine (a loopback peer, no proxy headers) and not by another site's page. */
  loopback?: boolean;
}

const isScope = (s: unknown): s is Scope =>
  typeof s === 'string' && (allScopes as readonly string[]).includes(s);

/** A compact JWS: three base64url parts. */
const jwtShape = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** Asymmetric algorithms accepted from a JWKS; HS256 only with the shared secret. */
const jwksAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** Errors of a JWKS look-up that say the token is wrong, not that the key server is unreachable. */
const tokenFaults = new Set([
  joseErrors.JWKSNoMatchingKey.code,
  joseErrors.JWKSMultipleMatchingKeys.code,
  joseErrors.JOSENotSupported.code,
  joseErrors.JOSEAlgNotAllowed.code,
]);

/**
 * Resolves credentials to a Principal, in a fixed order: internal service secret, then a JWT bearer,
 * then an API key (bearer or X-API-Key; an imported one, PAGI_API_KEY, is any string that is no
 * JWT) or a console session (bearer), then — only in `dev` auth mode — X-User-Id, then — only with
 * `auth.loopback_key` set — that key for a request without credentials from this machine. The first
 * kind present decides: a bad JWT is a 401 even if an API key header is also sent.
 */
export class Authenticator {
  private readonly getJwtKey?: JWTVerifyGetKey;
  private readonly algorithms: string[] = [];
  private readonly internalSecret?: Buffer;
  private readonly tenantCache = new Map<string, { id: string; name: string }>();

  constructor(
    private readonly auth: Config['auth'],
    private readonly keys: ApiKeyService,
    private readonly tenants: TenantService,
    private readonly consoleSessions?: ConsoleSessionService,
  ) {
    const secret = auth.jwt_secret ? new TextEncoder().encode(auth.jwt_secret) : undefined;
    const jwks = auth.jwks_url ? createRemoteJWKSet(new URL(auth.jwks_url)) : undefined;
    if (secret) this.algorithms.push('HS256');
    if (jwks) this.algorithms.push(...jwksAlgorithms);
    if (secret || jwks) {
      // The token's own header picks the key source, and `algorithms` pins each source to its
      // kind of key, so a token cannot pass a public key off as an HMAC secret.
      this.getJwtKey = async (header: JWTHeaderParameters, token) => {
        if (header.alg === 'HS256' && secret) return secret;
        if (!jwks)
          throw new AppError('unauthorized', `invalid token: algorithm ${header.alg} is not accepted`);
        try {
          return await jwks(header, token);
        } catch (err) {
          if (err instanceof joseErrors.JOSEError && tokenFaults.has(err.code)) throw err;
          throw new AppError('unavailable', 'cannot verify the token: the JWKS endpoint is unreachable', {
            cause: err,
            retryAfter: 5,
          });
        }
      };
    }
    if (auth.internal_secret) this.internalSecret = Buffer.from(auth.internal_secret);
  }

  /** Returns the principal, `undefined` when no credentials were sent at all, or throws 401. */
  async authenticate(req: Credentials): Promise<Principal | undefined> {
    if (req.header('x-internal-service') === 'true') return this.internal(req);

    const authorization = req.header('authorization');
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) throw new AppError('unauthorized', 'Authorization header must be "Bearer <token>"');
      const token = match[1]!;
      if (looksLikeApiKey(token)) return this.apiKey(token);
      if (looksLikeConsoleSession(token) && this.consoleSessions) return this.consoleSession(token);
      // PAGI's clients may send its key as a bearer too: a token that is no JWT is an imported key.
      if (this.keys.acceptsImported && !jwtShape.test(token)) return this.apiKey(token);
      return this.jwt(token);
    }

    const apiKey = req.header('x-api-key');
    if (apiKey !== undefined) return this.apiKey(apiKey);

    // isA's clients send `user-id`; both names work, in dev mode only.
    const devUser = req.header('x-user-id') ?? req.header('user-id');
    if (devUser !== undefined && this.auth.mode === 'dev') return this.dev(devUser, req);
    // For local conformance runners that send no credentials (docs/interop.md): off unless set,
    // and refused at start on a server bound to anything but loopback.
    if (req.loopback && this.auth.loopback_key) return this.apiKey(this.auth.loopback_key);
    return undefined;
  }

  private async internal(req: Credentials): Promise<Principal> {
    const given = req.header('x-internal-service-secret');
    if (!this.internalSecret) throw new AppError('unauthorized', 'internal service access is not configured');
    if (!given || !constantTimeEqual(Buffer.from(given), this.internalSecret)) {
      throw new AppError('unauthorized', 'invalid internal service secret');
    }
    const tenant = await this.tenant(req.header('x-tenant-id') ?? ROOT_TENANT);
    return {
      tenantId: tenant.id,
      tenantName: tenant.name,
      subject: 'internal',
      scopes: new Set(['admin']),
      via: 'internal',
    };
  }

  private async apiKey(secret: string): Promise<Principal> {
    const key = await this.keys.verify(secret);
    return {
      tenantId: key.tenantId,
      tenantName: key.tenantName,
      subject: `key:${key.keyId}`,
      scopes: new Set(key.scopes),
      via: 'api_key',
      keyId: key.keyId,
      userId: key.owner ?? `key:${key.keyId}`,
    };
  }

  private async consoleSession(token: string): Promise<Principal> {
    const s = await this.consoleSessions!.verify(token);
    return {
      tenantId: s.tenantId,
      tenantName: s.tenantName,
      subject: `session:${s.sessionId}`,
      scopes: new Set(s.scopes),
      via: 'console_session',
      sessionId: s.sessionId,
      // Opened with an API key: the same user as the key, so the key's private agents are theirs here too.
      ...(s.keyId
        ? { keyId: s.keyId, userId: s.keyOwner ?? `key:${s.keyId}` }
        : { userId: `session:${s.sessionId}` }),
    };
  }

  private async jwt(token: string): Promise<Principal> {
    if (!this.getJwtKey)
      throw new AppError(
        'unauthorized',
        'unrecognised bearer token: expected an API key (agk_…), and JWT authentication is not configured',
      );
    let payload: JWTPayload;
    try {
      const result = await jwtVerify(token, this.getJwtKey, {
        algorithms: this.algorithms,
        issuer: this.auth.jwt_issuer,
        audience: this.auth.jwt_audience,
        // A token without an expiry could never be taken back.
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 5,
      });
      payload = result.payload;
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('unauthorized', `invalid token: ${(err as Error).message}`);
    }
    const tenantClaim = payload[this.auth.jwt_tenant_claim];
    if (typeof tenantClaim !== 'string' || tenantClaim === '') {
      throw new AppError('unauthorized', `token must carry a "${this.auth.jwt_tenant_claim}" claim`);
    }
    const tenant = await this.tenant(tenantClaim);
    // OAuth's space-separated `scope`, or a `scopes` array; a token that names none may only read.
    const claimed = typeof payload.scope === 'string' ? payload.scope.split(' ') : payload.scopes;
    const granted = Array.isArray(claimed) ? claimed.filter(isScope) : ['read' as const];
    return {
      tenantId: tenant.id,
      tenantName: tenant.name,
      subject: `user:${payload.sub}`,
      scopes: new Set(granted),
      via: 'jwt',
      userId: `user:${payload.sub}`,
    };
  }

  /**
   * In `dev` auth mode, the dev user `anonymous` of the default tenant, for a request without
   * credentials from this machine to a route whose earlier system took none (its caller checks the
   * route and the peer); in `keys` mode, nobody.
   */
  async anonymousDev(): Promise<Principal | undefined> {
    if (this.auth.mode !== 'dev') return undefined;
    return this.dev('anonymous', { header: () => undefined });
  }

  private async dev(user: string, req: Credentials): Promise<Principal> {
    if (!/^[\w.@-]{1,128}$/.test(user)) throw new AppError('unauthorized', 'invalid X-User-Id');
    const tenant = await this.tenant(req.header('x-tenant-id') ?? ROOT_TENANT);
    return {
      tenantId: tenant.id,
      tenantName: tenant.name,
      subject: `dev:${user}`,
      scopes: new Set(['admin']),
      via: 'dev',
      userId: `dev:${user}`,
    };
  }

  /** Tenants are never renamed or deleted, so a found one may be remembered for the process's life. */
  private async tenant(idOrName: string): Promise<{ id: string; name: string }> {
    const cached = this.tenantCache.get(idOrName);
    if (cached) return cached;
    const tenant = await this.tenants.find(idOrName);
    if (!tenant) throw new AppError('unauthorized', `unknown tenant ${idOrName}`);
    this.tenantCache.set(idOrName, { id: tenant.id, name: tenant.name });
    return tenant;
  }
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  // timingSafeEqual needs equal lengths; compare against itself on a mismatch to spend the same time.
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}
