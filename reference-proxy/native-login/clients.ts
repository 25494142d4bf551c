/**
 * POST /register (RFC 7591, public clients only): stateless registration. The client id is a prefix
 * and the sealed record of the client's redirect URIs and when it registered (seals.ts), so the
 * gateway stores nothing, every replica recognises every client, and a client id someone altered
 * opens to no client at all.
 */
import type { RequestHandler } from 'express';
import { nowSeconds } from '../../common/clock.ts';
import { type HttpError, oauthError } from '../http-errors.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { MAX_REDIRECT_URI_LENGTH, MAX_REDIRECT_URIS, redirectUriProblem } from './redirect-uris.ts';
import type { Seals } from './seals.ts';

/** What every client id starts with (the same prefix as LiteLLM's, so logs read alike). */
export const CLIENT_ID_PREFIX = 'llm_dcrc_';
/** A client id longer than this is refused at registration (and never opened). */
const MAX_CLIENT_ID_LENGTH = 2048;

export const GRANT_TYPES = ['authorization_code', 'refresh_token'] as const;

export interface RegisteredClient {
  clientId: string;
  redirectUris: string[];
}

export function register(ctx: ProxyContext, seals: Seals): RequestHandler {
  return async (req, res) => {
    const metadata = parseMetadata(req.body);
    const uris = metadata.redirect_uris;
    if (!Array.isArray(uris) || uris.length < 1 || uris.length > MAX_REDIRECT_URIS) {
      throw oauthError(
        400,
        'invalid_redirect_uri',
        `redirect_uris must be a list of 1 to ${MAX_REDIRECT_URIS} URIs (got ${Array.isArray(uris) ? uris.length : 'none'})`,
      );
    }
    for (const [index, uri] of uris.entries()) {
      const problem = redirectUriProblem(uri);
      if (problem === 'length') {
        throw oauthError(
          400,
          'invalid_redirect_uri',
          `redirect_uris[${index}] must be a string of 1 to ${MAX_REDIRECT_URI_LENGTH} characters`,
        );
      }
      if (problem === 'form') {
        throw oauthError(
          400,
          'invalid_redirect_uri',
          `redirect_uris[${index}] must be an https URI, or an http URI on a loopback host (127.0.0.1, [::1], localhost), without userinfo, fragment or backslash`,
        );
      }
    }
    const redirectUris = uris as string[];
    const issuedAt = nowSeconds(ctx.clock);
    const clientId = `${CLIENT_ID_PREFIX}${await seals.seal('client', { redirect_uris: redirectUris })}`;
    if (clientId.length > MAX_CLIENT_ID_LENGTH) {
      throw oauthError(400, 'invalid_client_metadata', 'the registered metadata is too large for a client id');
    }
    ctx.logger.info('native_client_registered', { redirect_uris: redirectUris });
    res
      .status(201)
      .set('cache-control', 'no-store')
      .json({
        client_id: clientId,
        client_id_issued_at: issuedAt,
        redirect_uris: redirectUris,
        // Public clients only: whatever method a client asks for, it gets none (PKCE protects its codes).
        token_endpoint_auth_method: 'none',
        grant_types: GRANT_TYPES,
        response_types: ['code'],
      });
  };
}

function parseMetadata(body: unknown): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : '');
  } catch {
    throw oauthError(400, 'invalid_client_metadata', 'the registration body must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw oauthError(400, 'invalid_client_metadata', 'the registration body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** The client a client id stands for, or undefined for one this gateway did not seal. */
export async function openClient(seals: Seals, clientId: string | undefined): Promise<RegisteredClient | undefined> {
  if (clientId === undefined || !clientId.startsWith(CLIENT_ID_PREFIX)) return undefined;
  const opened = await seals.open('client', clientId.slice(CLIENT_ID_PREFIX.length));
  if (!opened.ok) return undefined;
  const uris = opened.claims.redirect_uris;
  if (!Array.isArray(uris) || !uris.every((u) => typeof u === 'string')) return undefined;
  return { clientId, redirectUris: uris };
}

/** The client, or the 401 `invalid_client` of RFC 6749 section 5.2 (token and revocation endpoints). */
export async function requireClient(seals: Seals, clientId: string | undefined): Promise<RegisteredClient> {
  const client = await openClient(seals, clientId);
  if (!client) throw unknownClient(401);
  return client;
}

export function unknownClient(status: 400 | 401): HttpError {
  return oauthError(status, 'invalid_client', 'the client_id is unknown or malformed: register the client again');
}
