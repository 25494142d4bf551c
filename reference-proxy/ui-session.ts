/**
 * The admin UI login (docs/contract.md section 7): a signed session cookie set by the callback, and
 * a short-lived signed cookie that carries the OAuth `state` (and PKCE verifier) from
 * GET /sso/key/generate to GET /sso/callback, so any replica can finish the login (RFC 6749
 * section 10.12: the state binds the callback to the browser that started it).
 *
 * Session length: 10 minutes under EXPERIMENTAL_UI_LOGIN, else LITELLM_UI_SESSION_DURATION
 * (resolved in config.ts). Both cookies are JWTs (HS256) with their own derived keys.
 */
import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { type Clock, nowSeconds } from '../common/clock.ts';
import { deriveSigningKey, importHmacKey } from './key-issuer.ts';

export const UI_SESSION_COOKIE = 'litellm_ui_session';
export const UI_LOGIN_STATE_COOKIE = 'litellm_ui_login_state';
/** How long a browser may take at the IdP before the UI login's state expires. */
export const UI_LOGIN_STATE_SECONDS = 600;

export interface UiSession {
  userId: string;
  email: string | null;
  role: string;
  expiresAtMs: number;
}

export interface UiLoginState {
  state: string;
  pkceVerifier: string | null;
  /**
   * Where the browser goes once signed in, relative to the gateway's base URL (a path and query,
   * checked by isSafeReturnTo): the PKCE-native login's /authorize sends a browser without a
   * session through this login and back. Null: the admin UI.
   */
  returnTo: string | null;
}

const sessionSchema = z.object({
  sub: z.string(),
  email: z.string().nullable(),
  role: z.string(),
  // At most the last second of year 9999: the page shows the end as a date, and no date holds more.
  exp: z.number().int().max(253_402_300_799),
});
const loginStateSchema = z.object({
  state: z.string(),
  pkce_verifier: z.string().nullable(),
  return_to: z.string().nullable().default(null),
});

export class UiSessions {
  // Imported into WebCrypto once (importHmacKey): every CLI login signs and reads a state cookie.
  private readonly sessionKey: Promise<CryptoKey>;
  private readonly stateKey: Promise<CryptoKey>;

  constructor(
    secret: string,
    readonly sessionSeconds: number,
    private readonly clock: Clock,
  ) {
    this.sessionKey = importHmacKey(deriveSigningKey(secret, 'ui-session'));
    this.stateKey = importHmacKey(deriveSigningKey(secret, 'ui-login-state'));
  }

  async createSession(user: {
    userId: string;
    email: string | null;
    role: string;
  }): Promise<{ cookie: string; session: UiSession }> {
    const now = nowSeconds(this.clock);
    const exp = now + this.sessionSeconds;
    const cookie = await new SignJWT({ email: user.email, role: user.role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.userId)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(await this.sessionKey);
    return { cookie, session: { ...user, expiresAtMs: exp * 1000 } };
  }

  async readSession(cookie: string | undefined): Promise<UiSession | undefined> {
    const payload = await this.verify(cookie, this.sessionKey);
    const parsed = sessionSchema.safeParse(payload);
    if (!parsed.success) return undefined;
    const { sub, email, role, exp } = parsed.data;
    return { userId: sub, email, role, expiresAtMs: exp * 1000 };
  }

  async createLoginState(value: UiLoginState): Promise<string> {
    const now = nowSeconds(this.clock);
    return new SignJWT({ state: value.state, pkce_verifier: value.pkceVerifier, return_to: value.returnTo })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(now)
      .setExpirationTime(now + UI_LOGIN_STATE_SECONDS)
      .sign(await this.stateKey);
  }

  async readLoginState(cookie: string | undefined): Promise<UiLoginState | undefined> {
    const parsed = loginStateSchema.safeParse(await this.verify(cookie, this.stateKey));
    if (!parsed.success) return undefined;
    const { state, pkce_verifier, return_to } = parsed.data;
    return {
      state,
      pkceVerifier: pkce_verifier,
      returnTo: return_to !== null && isSafeReturnTo(return_to) ? return_to : null,
    };
  }

  private async verify(token: string | undefined, key: Promise<CryptoKey>): Promise<unknown> {
    if (token === undefined || token === '') return undefined;
    try {
      const { payload } = await jwtVerify(token, await key, {
        algorithms: ['HS256'],
        currentDate: new Date(this.clock.nowMs()),
      });
      return payload;
    } catch {
      return undefined;
    }
  }
}

/** A return_to longer than this is refused: it travels in a cookie, and browsers keep at most 4 KiB of one. */
export const RETURN_TO_MAX_LENGTH = 2048;

/**
 * Whether `value` may be where a signed-in browser is sent: a path (and query) under the gateway's
 * own base URL, so the login cannot be turned into an open redirect. A single leading `/`, no
 * `//` or backslash (both make browsers read a host), no control characters or spaces, and it
 * resolves to the same origin.
 */
export function isSafeReturnTo(value: string): boolean {
  if (value.length === 0 || value.length > RETURN_TO_MAX_LENGTH) return false;
  // mutation-equivalent: a second guard for `//host/`, which the origin check below refuses as well
  const namesAHost = value.startsWith('//');
  if (!value.startsWith('/') || namesAHost || value.includes('\\')) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u0020\u007f]/.test(value)) return false;
  const base = 'http://gateway.invalid';
  return URL.canParse(value, base) && new URL(value, base).origin === base;
}
