/**
 * Error bodies that cross the wire (docs/contract.md section 2).
 * - CLI SSO endpoints answer FastAPI style: `{"detail": "<message>"}`.
 * - API routes (/models, /v1/models) answer LiteLLM's `{"error": {message, type, param, code}}`.
 * - OAuth endpoints answer RFC 6749 section 5.2 `{"error", "error_description"}`.
 */
import { z } from 'zod';

/** LiteLLM's messages for the CLI SSO endpoints; the suite checks the status, not the wording. */
export const CLI_SSO_MESSAGES = {
  invalidSession: 'Invalid CLI login session',
  notReady: 'CLI login is not ready',
  invalidCode: 'Invalid verification code',
  invalidPollSecret: 'Invalid CLI polling secret',
  tooManyStarts: 'Too many CLI login attempts. Try again later.',
  /** 403 for a `team_id` the user is not in. */
  notInTeam: (teamId: string) => `User does not belong to team: ${teamId}`,
} as const;

/** The error body of the CLI SSO endpoints, FastAPI style: `{"detail": "..."}`. */
export interface DetailBody {
  detail: string;
}

export function detailBody(message: string): DetailBody {
  return { detail: message };
}

/** LiteLLM's error body on API routes (`/models`): `{"error": {message, type, param, code}}`. */
export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

export function apiErrorBody(status: number, type: string, message: string, param: string | null = null): ApiErrorBody {
  return { error: { message, type, param, code: String(status) } };
}

/** An OAuth error body (RFC 6749 section 5.2). */
export interface OAuthErrorBody {
  error: string;
  error_description?: string;
}

const detailSchema = z.object({
  detail: z.union([z.string(), z.array(z.unknown()), z.record(z.string(), z.unknown())]),
});
const apiErrorSchema = z.object({
  error: z.object({ message: z.string().optional(), type: z.string().optional() }).passthrough(),
});
const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

/**
 * Best-effort human message from any error body a gateway or IdP may send: FastAPI `detail`,
 * LiteLLM `error.message`, OAuth `error_description`. Returns undefined when none is found.
 */
export function errorMessageOf(body: unknown): string | undefined {
  const detail = detailSchema.safeParse(body);
  if (detail.success) {
    return typeof detail.data.detail === 'string' ? detail.data.detail : JSON.stringify(detail.data.detail);
  }
  const api = apiErrorSchema.safeParse(body);
  if (api.success) return api.data.error.message ?? api.data.error.type;
  const oauth = oauthErrorSchema.safeParse(body);
  if (oauth.success) return oauth.data.error_description ?? oauth.data.error;
  return undefined;
}

/** The `error.type` of a LiteLLM API error body, e.g. `expired_key`. */
export function apiErrorTypeOf(body: unknown): string | undefined {
  const api = apiErrorSchema.safeParse(body);
  return api.success ? api.data.error.type : undefined;
}
