/**
 * CLI keys (docs/contract.md section 6, reference choice): a JWT signed with jose, HS256, with a
 * key derived from LITELLM_SALT_KEY or else LITELLM_MASTER_KEY. Claims `iss`, `sub` (user id),
 * `iat`, `exp` = `iat` + lifetime, `jti`, `team_id`, `user_role`, `models`, and for a classic login
 * `sid`, the session token the CLI session registry knows by its hash (cli-sessions.ts,
 * CLISSO-REGISTRY-01). Verification checks the
 * signature, `alg`, `iss` and `exp` against the injected clock, read afresh for every key.
 *
 * The key is imported into WebCrypto once, not on every call, and keys that verified are remembered
 * (verified-keys.ts: bounded, one cache per signing key, time checks repeated on every hit), so an
 * API call with a key already seen costs a Map lookup and two comparisons with the clock.
 */
import { createHash, randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { type Clock, nowSeconds } from '../common/clock.ts';
import { sessionIdOf } from './cli-sessions.ts';
import { VerifiedKeys } from './verified-keys.ts';

/** The `iss` of the CLI keys the reference gateway issues (HS256 JWTs). */
export const CLI_KEY_ISSUER = 'litellm-reference-proxy';

export interface CliKeyClaims {
  userId: string;
  teamId: string | null;
  userRole: string;
  models: readonly string[];
  /**
   * The registry's id of the key's session (the SHA-256 of its `sid`), when the key has one: a key
   * from a PKCE-native login, or one issued before the registry existed, has none.
   */
  sessionId?: string | undefined;
}

export interface IssuedKey {
  key: string;
  expiresInSeconds: number;
  expiresAt: number;
}

export type KeyCheck =
  | { ok: true; claims: CliKeyClaims; expiresAt: number }
  | { ok: false; reason: 'expired' | 'invalid' };

const claimsSchema = z.object({
  sub: z.string().min(1),
  team_id: z.string().nullable(),
  user_role: z.string(),
  models: z.array(z.string()),
  exp: z.number(),
  sid: z.string().min(1).optional(),
});

/**
 * Derive a purpose-bound HMAC key, so the same secret never signs two kinds of token. With
 * {@link CLI_KEY_PURPOSE} and the gateway's `LITELLM_SALT_KEY` (else `LITELLM_MASTER_KEY`) it is the
 * key that signs CLI keys, so a test can read one with jose.
 * @param secret - the signing secret
 * @param purpose - what the key signs, e.g. {@link CLI_KEY_PURPOSE}
 * @example
 * ```ts
 * const { payload } = await jwtVerify(key, deriveSigningKey(masterKey, CLI_KEY_PURPOSE), { issuer: CLI_KEY_ISSUER });
 * ```
 */
export function deriveSigningKey(secret: string, purpose: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`litellm-reference-proxy/${purpose}\0${secret}`).digest());
}

/**
 * An HS256 key as a WebCrypto key, for sign and verify. Import it once and hand jose the result:
 * given the raw bytes, jose imports them again on every sign and verify.
 */
export function importHmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', new Uint8Array(raw), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

/** The purpose the CLI keys are signed under (see {@link deriveSigningKey}). */
export const CLI_KEY_PURPOSE = 'cli-key';

/**
 * How many verified keys a gateway remembers: one per person logged in within a key's lifetime on a
 * large gateway, about 1 KiB each (the key string and its claims), so at most about 10 MiB.
 */
export const VERIFIED_KEYS_CAPACITY = 10_000;

export class KeyIssuer {
  /** Imported into WebCrypto once (importHmacKey). */
  private readonly key: Promise<CryptoKey>;
  /**
   * Keys this issuer verified. Readonly beside the readonly key it was verified with: the signing key
   * of an issuer never changes, and another signing key is another issuer with an empty cache.
   */
  private readonly verified: VerifiedKeys<CliKeyClaims>;

  constructor(
    secret: string,
    private readonly lifetimeSeconds: number,
    private readonly clock: Clock,
    private readonly leewaySeconds = 0,
    verifiedKeysCapacity = VERIFIED_KEYS_CAPACITY,
  ) {
    this.key = importHmacKey(deriveSigningKey(secret, CLI_KEY_PURPOSE));
    this.verified = new VerifiedKeys(verifiedKeysCapacity);
  }

  /** How many verified keys are remembered now (for tests of the bound). */
  // mutation-equivalent: read only by the unit tests of the bound
  get rememberedKeys(): number {
    return this.verified.size;
  }

  /**
   * A new key, or, with `identity` (the `jti` and `iat` of a key issued before), that very key
   * again: HS256 signs the same claims into the same string, so a poll whose answer was lost can be
   * answered with the key its login was given. `sessionToken` becomes the `sid` claim.
   */
  async issue(
    claims: CliKeyClaims,
    identity?: { jti: string; issuedAt: number; sessionToken?: string | undefined },
  ): Promise<IssuedKey> {
    const issuedAt = identity?.issuedAt ?? nowSeconds(this.clock);
    const expiresAt = issuedAt + this.lifetimeSeconds;
    const payload: Record<string, unknown> = {
      team_id: claims.teamId,
      user_role: claims.userRole,
      models: claims.models,
    };
    if (identity?.sessionToken !== undefined) payload['sid'] = identity.sessionToken;
    const key = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(CLI_KEY_ISSUER)
      .setSubject(claims.userId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(identity?.jti ?? randomUUID())
      .sign(await this.key);
    return { key, expiresInSeconds: this.lifetimeSeconds, expiresAt };
  }

  /**
   * The check of a key this issuer has verified before, without verifying it again: the time
   * checks of {@link verify} against the clock, in jose's order (nbf, then exp) and with the same
   * leeway. Undefined for a key it does not remember.
   */
  recall(token: string): KeyCheck | undefined {
    const known = this.verified.get(token);
    if (known === undefined) return undefined;
    const now = nowSeconds(this.clock);
    // mutation-equivalent: reached only by a key whose nbf is still ahead, which only the holder of the signing
    // key can make: this gateway's own keys take effect when issued
    if (known.notBefore !== undefined && known.notBefore > now + this.leewaySeconds) {
      this.verified.forget(token);
      return { ok: false, reason: 'invalid' };
    }
    if (known.expiresAt <= now - this.leewaySeconds) {
      this.verified.forget(token);
      return { ok: false, reason: 'expired' };
    }
    return { ok: true, claims: known.claims, expiresAt: known.expiresAt };
  }

  /** A key is valid up to the second it expires: at `exp` itself it is expired (RFC 7519 section 4.1.4). */
  async verify(token: string): Promise<KeyCheck> {
    const remembered = this.recall(token);
    if (remembered !== undefined) return remembered;
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: ['HS256'],
        issuer: CLI_KEY_ISSUER,
        currentDate: new Date(this.clock.nowMs()),
        clockTolerance: this.leewaySeconds,
        requiredClaims: ['exp', 'sub', 'iat'],
      });
      const parsed = claimsSchema.safeParse(payload);
      if (!parsed.success) return { ok: false, reason: 'invalid' };
      const { sub, team_id, user_role, models, exp, sid } = parsed.data;
      // Frozen: every later call with this key is handed this very object.
      const claims: CliKeyClaims = Object.freeze({
        userId: sub,
        teamId: team_id,
        userRole: user_role,
        models: Object.freeze(models),
        ...(sid === undefined ? {} : { sessionId: sessionIdOf(sid) }),
      });
      // mutation-equivalent: only the holder of the signing key can make a key with an nbf, and this
      // gateway's own keys carry none; a remembered key without it answers as it did when verified
      const notBefore = typeof payload.nbf === 'number' ? payload.nbf : undefined;
      this.verified.remember(token, { claims, expiresAt: exp, notBefore });
      // mutation-equivalent: no caller of verify() reads expiresAt: leaving it out changes no answer
      return { ok: true, claims, expiresAt: exp };
    } catch (error) {
      return { ok: false, reason: error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}
