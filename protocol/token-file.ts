/**
 * The CLI token file, `~/.litellm/token.json` (docs/contract.md section 8). LiteLLM's SDK
 * reads it, so the fields are LiteLLM's; `expires_at` is ours (unix seconds, from the key or the
 * poll answer's `expires_in`).
 */
import { z } from 'zod';

/** The token file's folder, in the home directory. */
export const TOKEN_FILE_DIR = '.litellm';
/** The token file's name. */
export const TOKEN_FILE_NAME = 'token.json';
/** The token file's permissions: its owner only. */
export const TOKEN_FILE_MODE = 0o600;
/** The folder's permissions: its owner only. */
export const TOKEN_DIR_MODE = 0o700;

/** A login as the CLI stores it in `~/.litellm/token.json`, camelCased. */
export interface StoredLogin {
  baseUrl: string;
  key: string;
  userId: string;
  userEmail: string | null;
  userRole: string | null;
  teamId: string | null;
  authHeaderName: string;
  /** Unix seconds when the login was stored. */
  timestamp: number;
  /** Unix seconds when the key expires, when known. */
  expiresAt: number | null;
}

const tokenFileSchema = z.object({
  base_url: z.string(),
  key: z.string().min(1, 'must be a non-empty string'),
  user_id: z.string().nullable().optional(),
  user_email: z.string().nullable().optional(),
  user_role: z.string().nullable().optional(),
  team_id: z.string().nullable().optional(),
  auth_header_name: z.string().optional(),
  jwt_token: z.string().optional(),
  timestamp: z.number(),
  expires_at: z.number().nullable().optional(),
});

/**
 * Check and read a token file's JSON.
 * @throws Error naming the first field that is wrong
 */
export function parseTokenFile(body: unknown): StoredLogin {
  const result = tokenFileSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(file)';
    throw new Error(`token file: field "${field}" ${issue ? issue.message : 'is invalid'}`);
  }
  const w = result.data;
  return {
    baseUrl: w.base_url,
    key: w.key,
    userId: w.user_id ?? '',
    userEmail: w.user_email ?? null,
    userRole: w.user_role ?? null,
    teamId: w.team_id ?? null,
    authHeaderName: w.auth_header_name ?? 'Authorization',
    timestamp: w.timestamp,
    expiresAt: w.expires_at ?? null,
  };
}

/** The token file's JSON (LiteLLM's field names) for a login. */
export function serializeTokenFile(login: StoredLogin): Record<string, unknown> {
  return {
    base_url: login.baseUrl,
    key: login.key,
    user_id: login.userId,
    user_email: login.userEmail,
    user_role: login.userRole,
    team_id: login.teamId,
    auth_header_name: login.authHeaderName,
    // LiteLLM's SDK reads the key from `key`; its CLI also writes the same value as `jwt_token`.
    jwt_token: login.key,
    timestamp: login.timestamp,
    expires_at: login.expiresAt,
  };
}
