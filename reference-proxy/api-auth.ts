/**
 * Who is calling an API route (docs/contract.md sections 2 and 6): the master key, or a CLI key
 * that verifies (only when EXPERIMENTAL_UI_LOGIN is on, as LiteLLM). Failures use LiteLLM's
 * `{"error": {...}}` body: an expired key is 400 `expired_key`; missing, unknown, tampered,
 * `alg: none` or another signer's key is 401, and so is a key whose CLI session was revoked
 * (CLISSO-REGISTRY-05: cli-sessions.ts remembers a session's state for a few seconds, so the check
 * costs a Map lookup on most calls).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { apiError } from './http-errors.ts';
import type { CliKeyClaims, KeyCheck } from './key-issuer.ts';
import type { ProxyContext } from './proxy-context.ts';
import { bearerToken } from './request-helpers.ts';

/**
 * The master key, kept as its SHA-256 digest computed once: a presented key is hashed and the two
 * digests compared in constant time, so the comparison tells nothing of the master key's length or
 * of how many of its characters a guess got right.
 */
export class MasterKey {
  private readonly digest: Buffer;

  constructor(masterKey: string) {
    this.digest = sha256(masterKey);
  }

  matches(presented: string): boolean {
    return timingSafeEqual(sha256(presented), this.digest);
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export type ApiCaller = { kind: 'master' } | { kind: 'cli_key'; claims: CliKeyClaims };

/**
 * The caller; throws the HttpError to answer when the key is missing, expired or not ours. Answered
 * at once (no promise) when no key has to be verified: a key verified before, the master key, a
 * missing or refused key; a promise while a key is verified, which rejects with that HttpError.
 * Handlers that can await do; the model list, called most, skips a turn of the event loop.
 */
export function authenticateApiCall(
  ctx: ProxyContext,
  req: Pick<IncomingMessage, 'headers'>,
): ApiCaller | Promise<ApiCaller> {
  const token = bearerToken(req);
  // mutation-equivalent: without this early answer a missing key fails the key check below, which answers
  // the same 401 with an error body (CLISSO-API-02); only the message differs
  if (token === undefined) {
    throw apiError(401, 'auth_error', 'Authentication Error - No api key passed in. Send Authorization: Bearer <key>.');
  }
  // A key this gateway has verified before is answered from memory (its exp checked against the
  // clock) without hashing it for the master-key comparison: a key the gateway signed is not its
  // master key (an operator who made one the master key would have it count as the CLI key it is).
  const remembered = ctx.config.experimentalUiLogin ? ctx.keys.recall(token) : undefined;
  if (remembered !== undefined) return cliKeyCaller(ctx, remembered);
  if (ctx.masterKey.matches(token)) return { kind: 'master' };
  if (ctx.config.experimentalUiLogin) return ctx.keys.verify(token).then((check) => cliKeyCaller(ctx, check));
  throw apiError(401, 'auth_error', 'Authentication Error - Invalid proxy server token passed.', 'key');
}

/** The CLI key's caller, or the answer to an expired (400), invalid or revoked (401) key. */
function cliKeyCaller(ctx: ProxyContext, check: KeyCheck): ApiCaller | Promise<ApiCaller> {
  if (check.ok) {
    const caller: ApiCaller = { kind: 'cli_key', claims: check.claims };
    const sessionId = check.claims.sessionId;
    // A key without a session (PKCE-native, or issued before the registry) is not in the registry.
    if (sessionId === undefined) return caller;
    const revoked = ctx.sessions.isRevoked(sessionId);
    if (revoked === false) return caller;
    if (revoked === true) throw revokedKey();
    return revoked.then((isRevoked) => {
      if (isRevoked) throw revokedKey();
      return caller;
    });
  }
  if (check.reason === 'expired') {
    const now = new Date(ctx.clock.nowMs()).toISOString();
    throw apiError(
      400,
      'expired_key',
      `Authentication Error - Expired Key. Current time: ${now}. Log in again.`,
      'key',
    );
  }
  throw apiError(401, 'auth_error', 'Authentication Error - Invalid proxy server token passed.', 'key');
}

function revokedKey() {
  return apiError(401, 'auth_error', 'Authentication Error - This CLI session was revoked. Log in again.', 'key');
}
