/** Small readers the PKCE-native login's routes share. Nothing here trusts its input. */
import type { Request } from 'express';
import { queryString } from '../request-helpers.ts';

export { modelsForTeam, teamAliasOf } from '../routes/cli-poll.ts';

/** One query parameter, or undefined when absent or repeated (a repeated one is never guessed at). */
export function queryField(req: Request, name: string): string | undefined {
  return queryString(req, name);
}

/** One field of a form body (application/x-www-form-urlencoded), or undefined when absent or repeated. */
export function formField(req: Request, name: string): string | undefined {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return undefined;
  const value: unknown = (body as Record<string, unknown>)[name];
  // mutation-equivalent: only a field sent twice is not a string, which no form sends, and the contract does
  // not say which of its values counts
  return typeof value === 'string' ? value : undefined;
}
