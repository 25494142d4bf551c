/**
 * GET /cli/session/list and POST /cli/session/{session_id}/revoke (docs/contract.md section 10.7):
 * the CLI session registry for admins. Listing needs the admin view (the master key, or a CLI key
 * whose role is proxy_admin or proxy_admin_viewer) [CLISSO-REGISTRY-02]; revoking needs proxy_admin
 * [CLISSO-REGISTRY-03]. Failures are `{"detail": ...}` answers.
 */
import type { RequestHandler } from 'express';
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

export function revokeCliSession(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const caller = await authenticateApiCall(ctx, req);
    if (roleOf(caller) !== CLI_SESSION_REVOKE_ROLE) {
      throw detailError(403, 'Only proxy admins may revoke CLI sessions');
    }
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
