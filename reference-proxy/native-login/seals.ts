/**
 * Sealed values of the PKCE-native login (docs/contract.md section 10.6): client
 * ids, consent-flow handles, authorization codes and refresh tokens are JWTs encrypted with jose
 * (`dir`, A256GCM), so the gateway stores nothing to recognise them and nobody else can read or
 * forge one. Each kind has its own key, derived from the gateway's signing secret as key-issuer.ts
 * derives its keys: a code can never be presented as a refresh token, nor a client id as a code.
 */
import { EncryptJWT, type JWTPayload, errors as joseErrors, jwtDecrypt } from 'jose';
import { type Clock, nowSeconds } from '../../common/clock.ts';
import { deriveSigningKey } from '../key-issuer.ts';

export type SealKind = 'client' | 'consent-flow' | 'code' | 'refresh';

/** Longer values are refused unread: no sealed value of ours comes near this. */
const MAX_SEALED_LENGTH = 4096;

export type Opened = { ok: true; claims: JWTPayload } | { ok: false; reason: 'expired' | 'invalid' };

export class Seals {
  private readonly keys: Readonly<Record<SealKind, Uint8Array>>;

  constructor(
    secret: string,
    private readonly clock: Clock,
  ) {
    const key = (kind: SealKind) => deriveSigningKey(secret, `native-login/${kind}`);
    this.keys = {
      client: key('client'),
      'consent-flow': key('consent-flow'),
      code: key('code'),
      refresh: key('refresh'),
    };
  }

  /** Seal `claims` with `iat` = now and, given a lifetime, `exp` = now + lifetime. */
  async seal(kind: SealKind, claims: Record<string, unknown>, lifetimeSeconds?: number): Promise<string> {
    const now = nowSeconds(this.clock);
    const jwt = new EncryptJWT(claims).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: kind }).setIssuedAt(now);
    if (lifetimeSeconds !== undefined) jwt.setExpirationTime(now + lifetimeSeconds);
    return jwt.encrypt(this.keys[kind]);
  }

  /** Open a sealed value of this kind: its claims, or why not (tampered, another kind, expired). */
  async open(kind: SealKind, sealed: string | undefined): Promise<Opened> {
    if (sealed === undefined || sealed === '' || sealed.length > MAX_SEALED_LENGTH)
      return { ok: false, reason: 'invalid' };
    try {
      const { payload } = await jwtDecrypt(sealed, this.keys[kind], {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
        currentDate: new Date(this.clock.nowMs()),
      });
      return { ok: true, claims: payload };
    } catch (error) {
      return { ok: false, reason: error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}
