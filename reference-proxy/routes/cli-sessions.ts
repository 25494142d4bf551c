/**
 * GET /cli/session/list and POST /cli/session/{session_id}/revoke (docs/contract.md section 10.7):
 * the CLI session registry for admins. Listing needs the admin view (the master key, or a CLI key
 * whose role is proxy_admin or proxy_admin_viewer) [CLISSO-REGISTRY-02]; revoking needs proxy_admin
 * [CLISSO-REGISTRY-03]. Failures are `{"detail": ...}` answers.
 */
import type { Request, RequestHandler } from 'express';
import { CLI_SESSION_LIST_ROLES, CLI_SESSION_PAGE_SIZE, CLI_SESSION_REVOKE_ROLE } from '../../protocol/cli-sessions.ts';
import { type ApiCaller, authenticateApiCall } from '../api-auth.ts';
import { sessionToJson } from '../cli-sessions.ts';
import { detailError } from '../http-errors.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { queryParam } from '../request-helpers.ts';

/** The role a caller acts with: the master key is a proxy admin. */
function roleOf(caller: ApiCaller): string {
  return caller.kind === 'master' ? CLI_SESSION_REVOKE_ROLE : caller.claims.userRole;
}

/** Who revoked, as recorded: the CLI key's user, or the master key. */
function actorOf(caller: ApiCaller): string {
  return caller.kind === 'master' ? 'master_key' : caller.claims.userId;
}

/** A whole number in [min, max] from the query, else its default; anything else a 400 naming it. */
function boundedInt(query: ReturnType<typeof queryParam>, name: string, fallback: number, min: number, max?: number) {
  if (query === undefined) return fallback;
  // mutation-equivalent: the words of the refusal only, which the contract leaves to the gateway
  const rule = max === undefined ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
  if (typeof query !== 'string' || !/^\d{1,9}$/.test(query)) throw detailError(400, `${name} must be ${rule}`);
  const value = Number(query);
  if (value < min || (max !== undefined && value > max)) throw detailError(400, `${name} must be ${rule}`);
  return value;
}

export function listCliSessions(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const caller = await authenticateApiCall(ctx, req);
    if (!CLI_SESSION_LIST_ROLES.includes(roleOf(caller))) {
      throw detailError(403, 'Only proxy admins and admin viewers may list CLI sessions');
    }
    const page = boundedInt(queryParam(req, 'page'), 'page', 1, 1);
    const pageSize = boundedInt(
      queryParam(req, 'page_size'),
      'page_size',
      CLI_SESSION_PAGE_SIZE.default,
      1,
      CLI_SESSION_PAGE_SIZE.max,
    );
    const { sessions, totalCount } = await ctx.users.listCliSessions(ctx.clock.nowMs(), page, pageSize);
    res.set('cache-control', 'no-store').json({ sessions: sessions.map(sessionToJson), total_count: totalCount });
  };
}

/** At most this much of an unknown id is echoed back (the id is no secret, but it is the caller's input). */
const ECHOED_ID_LENGTH = 128;

/** Refuses (401, 403) a caller who is not a proxy admin. */
async function proxyAdmin(ctx: ProxyContext, req: Request): Promise<ApiCaller> {
  const caller = await authenticateApiCall(ctx, req);
  if (roleOf(caller) !== CLI_SESSION_REVOKE_ROLE) {
    throw detailError(403, 'Only proxy admins may revoke CLI sessions');
  }
  return caller;
}

/** A revoke's path below the registry's prefix, whatever its session id, decodable or not. */
const REVOKE_BELOW_PREFIX = /^\/[^/]+\/revoke\/?$/;

/**
 * Mounted on the registry's path prefix, before the revoke route: the caller is checked before the
 * router decodes the session id, so a caller who may not revoke gets 401 or 403 whatever the id,
 * even one that does not decode (which the router alone answers 400) [CLISSO-REGISTRY-03].
 */
export function revokersFirst(ctx: ProxyContext): RequestHandler {
  return async (req, _res, next) => {
    if (req.method === 'POST' && REVOKE_BELOW_PREFIX.test(req.path)) await proxyAdmin(ctx, req);
    next();
  };
}

export function revokeCliSession(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const caller = await proxyAdmin(ctx, req);
    const sessionId = String(req.params['sessionId'] ?? '');
    const revoked = await ctx.users.revokeCliSession(sessionId, actorOf(caller), ctx.clock.nowMs());
    if (revoked === undefined) {
      // JSON escapes quotes and control characters; only printable ASCII of a capped length is echoed.
      const shown = sessionId.slice(0, ECHOED_ID_LENGTH).replace(/[^\x21-\x7e]/g, '?');
      const more = sessionId.length > ECHOED_ID_LENGTH ? '...' : '';
      throw detailError(404, `CLI session not found: ${shown}${more}`);
    }
    // This replica refuses the key from now on; the others within LIVE_SESSION_TTL_MS.
    ctx.sessions.markRevoked(revoked.sessionId);
    ctx.logger.info('cli_session_revoked', {
      session_id: revoked.sessionId,
      user_id: revoked.userId,
      by: actorOf(caller),
    });
    res.set('cache-control', 'no-store').json(sessionToJson(revoked));
  };
}
