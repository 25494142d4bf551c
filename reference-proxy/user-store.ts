/**
 * Users who signed in through SSO (docs/contract.md section 2, GET /sso/callback "upsert user" and
 * GET /user/info). The merge rules live here, once; sqlite-user-store.ts and
 * postgres-user-store.ts only load and save rows inside one transaction.
 */
import { mergeUserMetadata, type NestedMetadata } from '../protocol/claim-map.ts';
import type { CliSessionRegistry } from './cli-sessions.ts';
import { DEFAULT_NEW_USER_ROLE, type IdpIdentity } from './identity.ts';

export interface UserRecord {
  userId: string;
  email: string | null;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  role: string;
  /** Stored team memberships; a login adds the IdP's teams to them. */
  teams: string[];
  /** Where attribution metadata is persisted, nested, numeric strings as numbers (section 5). */
  metadata: Record<string, unknown>;
  createdAtMs: number;
  updatedAtMs: number;
}

/** The records store: users, and the CLI session registry beside them. */
export interface UserStore extends CliSessionRegistry {
  /** Create or update the user from a login; returns the stored row. */
  upsertLogin(identity: IdpIdentity, attribution: NestedMetadata, nowMs: number): Promise<UserRecord>;
  get(userId: string): Promise<UserRecord | undefined>;
  close(): Promise<void>;
}

/**
 * The row after a login: the IdP's email, names and known role win when present; an unknown or
 * missing role keeps the stored one (or `internal_user_viewer` for a new user, section 4); teams
 * are the union of stored and IdP teams; metadata is merged one level deep.
 */
export function applyLogin(
  existing: UserRecord | undefined,
  identity: IdpIdentity,
  attribution: NestedMetadata,
  nowMs: number,
): UserRecord {
  return {
    userId: identity.userId,
    email: identity.email ?? existing?.email ?? null,
    displayName: identity.displayName ?? existing?.displayName ?? null,
    firstName: identity.firstName ?? existing?.firstName ?? null,
    lastName: identity.lastName ?? existing?.lastName ?? null,
    role: identity.role ?? existing?.role ?? DEFAULT_NEW_USER_ROLE,
    teams: [...new Set([...(existing?.teams ?? []), ...identity.teams])],
    metadata: mergeUserMetadata(existing?.metadata ?? {}, attribution),
    createdAtMs: existing?.createdAtMs ?? nowMs,
    updatedAtMs: nowMs,
  };
}
