/**
 * The CLI session registry's wire paths and roles (docs/contract.md section 10.7): what the
 * reference gateway serves and what the suite sends, from one place.
 */
export const CLI_SESSION_PATHS = {
  /** `GET`, with `page` (>= 1) and `page_size` (1-100). */
  list: '/cli/session/list',
  /** `POST`. */
  revoke: (sessionId: string) => `/cli/session/${encodeURIComponent(sessionId)}/revoke`,
} as const;

/** `page_size` bounds and defaults of the list. */
export const CLI_SESSION_PAGE_SIZE = { default: 50, max: 100 } as const;

/** Roles that may list the sessions (LiteLLM's "admin view"). */
export const CLI_SESSION_LIST_ROLES: readonly string[] = ['proxy_admin', 'proxy_admin_viewer'];
/** The one role that may revoke a session. */
export const CLI_SESSION_REVOKE_ROLE = 'proxy_admin';
