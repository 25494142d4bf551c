/**
 * The proxy as an OAuth 2.0 client of the IdP (docs/contract.md section 2, GET /sso/key/generate
 * and GET /sso/callback): the authorization redirect, the code exchange (RFC 6749 section 4.1.3,
 * with PKCE per RFC 7636 when configured) and the userinfo call (OIDC Core section 5.3).
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { httpCall } from '../common/http-client.ts';
import type { IdpSettings } from './config.ts';

/** The IdP answered with an error or something that is not OAuth; the message is safe to show. */
export class IdpError extends Error {
  constructor(
    message: string,
    /** 'rejected': the IdP said no (4xx to the browser); 'unreachable': no usable answer (502). */
    readonly kind: 'rejected' | 'unreachable',
  ) {
    super(message);
    this.name = 'IdpError';
  }
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** RFC 7636 section 4.1-4.2: 32 random bytes as the verifier, S256 challenge. */
export function newPkce(): Pkce {
  return pkceFor(randomBytes(32).toString('base64url'));
}

/** The S256 challenge of a verifier (RFC 7636 section 4.2). */
export function pkceFor(verifier: string): Pkce {
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizationUrl(
  idp: IdpSettings,
  options: { redirectUri: string; state: string; codeChallenge?: string | undefined },
): string {
  const url = new URL(idp.authorizationEndpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', idp.clientId);
  url.searchParams.set('redirect_uri', options.redirectUri);
  url.searchParams.set('scope', idp.scope);
  url.searchParams.set('state', options.state);
  if (options.codeChallenge !== undefined) {
    url.searchParams.set('code_challenge', options.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return url.toString();
}

const tokenAnswerSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
});
const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });
const userinfoSchema = z.record(z.string(), z.unknown());

const IDP_TIMEOUT_MS = 10_000;
/** IdP answers are small JSON documents; a bigger one is not read into memory. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** Exchange the authorization code and read userinfo with the access token. */
export async function fetchUserinfoForCode(
  idp: IdpSettings,
  options: { code: string; redirectUri: string; codeVerifier: string | null },
): Promise<Record<string, unknown>> {
  const accessToken = await exchangeCode(idp, options);
  const response = await call(idp.userinfoEndpoint, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
  });
  const body = readJson(response, 'userinfo');
  // mutation-equivalent: LiteLLM (through fastapi-sso) reads the userinfo body whatever its status, so
  // the contract cannot fail a gateway that takes claims from an error answer; one without claims
  // names no one either way (CLISSO-CALLBACK-02's userinfo rows)
  if (!response.ok)
    throw new IdpError(`the IdP refused userinfo (HTTP ${response.status}${oauthReason(body)})`, 'rejected');
  const parsed = userinfoSchema.safeParse(body);
  if (!parsed.success) throw new IdpError('the IdP userinfo answer is not a JSON object', 'unreachable');
  return parsed.data;
}

async function exchangeCode(
  idp: IdpSettings,
  options: { code: string; redirectUri: string; codeVerifier: string | null },
): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code: options.code,
    redirect_uri: options.redirectUri,
  });
  if (options.codeVerifier !== null) form.set('code_verifier', options.codeVerifier);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (idp.includeClientIdInBody || idp.clientSecret === undefined) {
    // client_secret_post (RFC 6749 section 2.3.1), or a public client sending only its id.
    form.set('client_id', idp.clientId);
    if (idp.clientSecret !== undefined) form.set('client_secret', idp.clientSecret);
  } else {
    // client_secret_basic: RFC 6749 section 2.3.1 form-encodes both parts before base64.
    const user = encodeURIComponent(idp.clientId);
    const password = encodeURIComponent(idp.clientSecret);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  const response = await call(idp.tokenEndpoint, { method: 'POST', headers, body: form.toString() });
  const body = readJson(response, 'token');
  // mutation-equivalent: without it the refused exchange fails on its missing access_token just below: a 502
  // instead of a 400, and CLISSO-CALLBACK-02 judges no status for an IdP failure
  if (!response.ok) {
    throw new IdpError(`the IdP refused the code exchange (HTTP ${response.status}${oauthReason(body)})`, 'rejected');
  }
  const parsed = tokenAnswerSchema.safeParse(body);
  if (!parsed.success) throw new IdpError('the IdP token answer has no access_token', 'unreachable');
  return parsed.data.access_token;
}

interface IdpRequest {
  method?: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

interface IdpAnswer {
  status: number;
  ok: boolean;
  text: string;
}

/**
 * One request to the IdP (common/http-client.ts: node:http, no redirects followed, an IdP endpoint
 * that redirects is misconfigured); anything that keeps a whole answer from arriving in time is
 * "could not be reached", and the message names only the IdP's origin.
 */
async function call(url: string, init: IdpRequest): Promise<IdpAnswer> {
  try {
    const { status, text } = await httpCall(url, { ...init, timeoutMs: IDP_TIMEOUT_MS, maxBytes: MAX_ANSWER_BYTES });
    return { status, ok: status >= 200 && status < 300, text };
  } catch {
    throw new IdpError(`the IdP at ${new URL(url).origin} could not be reached`, 'unreachable');
  }
}

function readJson(answer: IdpAnswer, what: string): unknown {
  try {
    return JSON.parse(answer.text);
  } catch {
    if (answer.ok) throw new IdpError(`the IdP ${what} answer is not JSON`, 'unreachable');
    return undefined;
  }
}

function oauthReason(body: unknown): string {
  const parsed = oauthErrorSchema.safeParse(body);
  return parsed.success ? `: ${parsed.data.error}` : '';
}
