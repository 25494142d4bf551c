/**
 * When does a key expire? Keys are opaque to clients (docs/contract.md section 6), but when one is
 * a JWT (the reference proxy's are) its `exp` claim is the exact answer; otherwise the poll
 * answer's `expires_in` (our extension) gives it; otherwise nobody knows, and we say so instead of
 * guessing LiteLLM's 24 h default.
 */
import { decodeJwt } from 'jose';
import type { StoredLogin } from '../protocol/token-file.ts';

export type ExpirySource = 'jwt-exp' | 'expires_at' | 'unknown';

export interface KeyClaims {
  expiresAt: number | null;
  email: string | null;
  role: string | null;
}

/** Read (never verify: the gateway does that) the claims a JWT key carries; nulls for opaque keys. */
export function readKeyClaims(key: string): KeyClaims {
  try {
    const claims = decodeJwt(key);
    return {
      expiresAt: typeof claims.exp === 'number' ? claims.exp : null,
      email: typeof claims['email'] === 'string' ? claims['email'] : null,
      role: typeof claims['user_role'] === 'string' ? claims['user_role'] : null,
    };
  } catch {
    return { expiresAt: null, email: null, role: null };
  }
}

export interface KeyExpiry {
  /** Unix seconds, or null when unknown. */
  expiresAt: number | null;
  source: ExpirySource;
}

export function expiryOf(login: Pick<StoredLogin, 'key' | 'expiresAt'>): KeyExpiry {
  const fromKey = readKeyClaims(login.key).expiresAt;
  if (fromKey !== null) return { expiresAt: fromKey, source: 'jwt-exp' };
  if (login.expiresAt !== null) return { expiresAt: login.expiresAt, source: 'expires_at' };
  return { expiresAt: null, source: 'unknown' };
}

/** A key is valid up to the second it expires (section 6). */
export function isExpired(expiry: KeyExpiry, nowSeconds: number): boolean {
  return expiry.expiresAt !== null && nowSeconds > expiry.expiresAt;
}
