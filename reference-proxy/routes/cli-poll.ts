/**
 * GET /sso/cli/poll/{login_id}[?team_id=...] (docs/contract.md section 2). The rules, in order:
 * 1. malformed, unknown or expired flow -> 400; 2. missing or wrong poll secret -> 403 (flow
 * untouched); 3. callback or code not done -> pending; 4. several teams and no team_id -> the
 * team-selection answer (no key, flow stays); 5. team_id not one of the user's -> 403;
 * 6. issue the key and delete the flow (one time only). The key's session is recorded in the CLI
 * session registry before the key is handed out; when that write fails no key goes out
 * (CLISSO-REGISTRY-01, a 503 for a store that cannot be reached), and the next poll tries again.
 *
 * Rule 6 in two writes, so that a store failure never loses a key: the poll first records on the
 * flow which key it hands out (KeyClaim), answers with it, and only then deletes the flow. When the
 * first write's answer is lost (the store failed after applying it) the poll answers 503; the CLI
 * polls again and, once the claim's short lease is over, gets that same key. No one without the
 * poll secret ever gets past rule 2.
 *
 * Our extensions: `expires_in` in the ready answer, and `Prefer: wait=N` holding a pending answer
 * until the flow changes so that the answer would differ, or N seconds pass.
 */

import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { nowSeconds } from '../../common/clock.ts';
import { isValidLoginId, POLL_SECRET_HEADER, type PollAnswer, serializePollAnswer } from '../../protocol/cli-sso.ts';
import { CLI_SSO_MESSAGES } from '../../protocol/errors.ts';
import { newSessionToken, sessionIdOf } from '../cli-sessions.ts';
import type { Flow, KeyClaim } from '../flow-store.ts';
import { detailError } from '../http-errors.ts';
import { preferredWaitSeconds } from '../prefer-wait.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { queryParam } from '../request-helpers.ts';
import { matchesHash } from '../secrets.ts';

type PollOutcome =
  | { kind: 'error'; status: 400 | 403; message: string }
  | { kind: 'pending' }
  | { kind: 'team_selection'; flow: Flow }
  | { kind: 'issue'; flow: Flow; claim: KeyClaim };

/**
 * How long a claimed key belongs to the poll that claimed it: polls sent at the same moment are
 * refused (CLISSO-POLL-11), and a CLI that retries after a lost answer (1 s later at the soonest, or
 * after the 503's Retry-After) finds the lease over.
 */
export const KEY_CLAIM_LEASE_MS = 500;

export function cliPoll(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const loginId = req.params['loginId'];
    const waitSeconds = preferredWaitSeconds(req.get('prefer'));
    res.vary('Prefer');
    // mutation-equivalent: a malformed login id is never a stored one: without this early answer the store
    // finds no flow and the poll gets the same 400 Invalid CLI login session
    if (!isValidLoginId(loginId)) throw detailError(400, CLI_SSO_MESSAGES.invalidSession);
    const pollSecret = req.get(POLL_SECRET_HEADER);
    const teamParam = queryParam(req, 'team_id');
    // mutation-equivalent: outside the contract: LiteLLM reads one team_id and says nothing of a repeated one; refusing it is our choice, which no conformance rule judges
    if (typeof teamParam === 'object') throw detailError(400, 'team_id must be given at most once');

    // Monotonic time: the wait is elapsed time, unaffected by wall-clock jumps.
    const deadlineMs = performance.now() + (waitSeconds ?? 0) * 1000;
    const aborted = abortSignalOf(req);
    let outcome: PollOutcome;
    for (;;) {
      // Watch before reading, so a change between this read and the wait still wakes us.
      const watch = ctx.flows.watch(loginId);
      try {
        outcome = await decideOrIssue(ctx, loginId, pollSecret, teamParam);
        const remainingMs = deadlineMs - performance.now();
        // mutation-equivalent: `<=` and `<` differ only when the wait ends in the exact millisecond; either way
        // the poll answers pending
        if (outcome.kind !== 'pending' || remainingMs <= 0 || aborted.aborted) break;
        ctx.logger.debug('poll_waiting', { login_id: loginId, remaining_ms: Math.round(remainingMs) });
        await waitForChange(watch.changed, remainingMs, aborted);
      } finally {
        watch.stop();
      }
    }
    if (aborted.aborted && outcome.kind === 'pending') return;
    if (waitSeconds !== undefined) res.set('preference-applied', `wait=${waitSeconds}`);
    await answer(ctx, res, loginId, outcome);
  };
}

/**
 * Rules 1-6 on the current flow. Issuing deletes the flow inside the same atomic update, so of two
 * concurrent polls only one gets the key.
 */
function decideOrIssue(
  ctx: ProxyContext,
  loginId: string,
  pollSecret: string | undefined,
  teamId: string | undefined,
): Promise<PollOutcome> {
  return ctx.flows.update<PollOutcome>(loginId, (flow) => {
    // mutation-equivalent: there is no flow to keep or delete: leaving `keep` out changes nothing
    if (!flow) return { keep: true, result: { kind: 'error', status: 400, message: CLI_SSO_MESSAGES.invalidSession } };
    if (!matchesHash(pollSecret, flow.pollSecretHash)) {
      // mutation-equivalent: `keep` is a tag, and the stores read that it is there, not its value
      return { keep: true, result: { kind: 'error', status: 403, message: CLI_SSO_MESSAGES.invalidPollSecret } };
    }
    const nowMs = ctx.clock.nowMs();
    const invalid = { kind: 'error', status: 400, message: CLI_SSO_MESSAGES.invalidSession } as const;
    // mutation-equivalent: the key a lost answer held never left the gateway: a new key handed out in its place
    // (this block taken out) serves the CLI as well, and no poll without the poll secret gets past the check
    // above (CLISSO-STORE-06)
    if (flow.keyClaim) {
      const claim = flow.keyClaim;
      // Another poll is handing this key out right now: it is handed out once (CLISSO-POLL-07, -11).
      // mutation-equivalent: a race guard: only a poll that arrives while another is between claiming
      // the key and deleting the flow reaches it, and no scenario can place a poll there on any gateway
      if (nowMs < claim.leaseUntilMs || (teamId !== undefined && teamId !== claim.teamId)) {
        return { keep: true, result: invalid };
      }
      // The poll that claimed it never deleted the flow: its answer was lost. The same key again.
      // mutation-equivalent: the renewed lease only guards the same race as above
      const renewed = { ...claim, leaseUntilMs: nowMs + KEY_CLAIM_LEASE_MS };
      // mutation-equivalent: the renewed lease only guards the race above, and the rest of the flow is read
      // again only when this answer is lost too
      return { write: { ...flow, keyClaim: renewed }, result: { kind: 'issue', flow, claim: renewed } };
    }
    if (flow.status !== 'user_code_verified' || !flow.session) return { keep: true, result: { kind: 'pending' } };
    const teams = flow.session.teams;
    if (teamId === undefined && teams.length > 1) return { keep: true, result: { kind: 'team_selection', flow } };
    if (teamId !== undefined && !teams.includes(teamId)) {
      return { keep: true, result: { kind: 'error', status: 403, message: CLI_SSO_MESSAGES.notInTeam(teamId) } };
    }
    const claim: KeyClaim = {
      jti: randomUUID(),
      issuedAt: nowSeconds(ctx.clock),
      teamId: teamId ?? teams[0] ?? null,
      leaseUntilMs: nowMs + KEY_CLAIM_LEASE_MS,
      sessionToken: newSessionToken(),
    };
    return { write: { ...flow, keyClaim: claim }, result: { kind: 'issue', flow, claim } };
  });
}

async function answer(
  ctx: ProxyContext,
  res: Parameters<RequestHandler>[1],
  loginId: string,
  outcome: PollOutcome,
): Promise<void> {
  if (outcome.kind === 'error') throw detailError(outcome.status, outcome.message);
  res.set('cache-control', 'no-store');
  if (outcome.kind === 'pending') {
    res.json(serializePollAnswer({ status: 'pending' }));
    return;
  }
  const session = outcome.flow.session!;
  const teamDetails = session.teams.map((teamId) => ({ teamId, teamAlias: teamAliasOf(ctx, teamId) }));
  if (outcome.kind === 'team_selection') {
    ctx.logger.info('flow_awaits_team_selection', { login_id: loginId, user_id: session.userId, teams: session.teams });
    const selection: PollAnswer = {
      status: 'team_selection',
      userId: session.userId,
      teams: session.teams,
      teamDetails,
      attributionMetadata: session.attributionMetadata,
    };
    res.json(serializePollAnswer(selection));
    return;
  }
  const { claim } = outcome;
  const issued = await ctx.keys.issue(
    {
      userId: session.userId,
      teamId: claim.teamId,
      userRole: session.userRole,
      models: modelsForTeam(ctx, claim.teamId),
    },
    { jti: claim.jti, issuedAt: claim.issuedAt, sessionToken: claim.sessionToken },
  );
  if (claim.sessionToken !== undefined) {
    // Before the answer and while the flow still holds the claim: a failed write leaves the key
    // unsent, and the CLI's next poll gets the same key and records the same row (it is idempotent).
    await ctx.users.recordCliSession({
      sessionId: sessionIdOf(claim.sessionToken),
      userId: session.userId,
      teamId: claim.teamId,
      createdAtMs: ctx.clock.nowMs(),
      expiresAtMs: issued.expiresAt * 1000,
      revokedAtMs: null,
      revokedBy: null,
    });
  }
  ctx.logger.info('flow_key_issued', {
    login_id: loginId,
    user_id: session.userId,
    team_id: claim.teamId,
    key_expires_at: new Date(issued.expiresAt * 1000).toISOString(),
  });
  const ready: PollAnswer = {
    status: 'ready',
    key: issued.key,
    userId: session.userId,
    teamId: claim.teamId,
    teams: session.teams,
    teamDetails,
    attributionMetadata: session.attributionMetadata,
    expiresInSeconds: issued.expiresInSeconds,
  };
  const handedOver = handedToTheSystem(res);
  res.json(serializePollAnswer(ready));
  // Only once the answer is in the operating system's hands (it then reaches the CLI even if this
  // process dies the next moment) does the flow go. Deleting it as soon as res.json() returned lost
  // keys when a replica was killed under load with the answer still queued in the process: the
  // CLI's retry found no flow. An answer that could not be sent keeps the claim, so the same CLI's
  // next poll gets this same key once the lease is over (CLISSO-POLL-07).
  if (!(await handedOver)) {
    ctx.logger.warn('flow_key_answer_not_sent', { login_id: loginId });
    return;
  }
  // The key has gone out: the flow goes too. If the store fails now, the claim stays until the flow
  // ends, and only the holder of the poll secret could get this same key again.
  try {
    await ctx.flows.update(loginId, (flow) =>
      flow?.keyClaim?.jti === claim.jti ? { delete: true, result: true } : { keep: true, result: false },
    );
  } catch (error) {
    ctx.logger.warn('flow_delete_after_key_failed', { login_id: loginId, error: describeError(error) });
  }
}

/** True once the whole answer has been handed to the operating system; false if the connection closed first. */
function handedToTheSystem(res: Parameters<RequestHandler>[1]): Promise<boolean> {
  return new Promise((resolve) => {
    res.once('finish', () => resolve(true));
    res.once('close', () => resolve(res.writableFinished));
  });
}

// mutation-equivalent: it only words a log line
function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function teamAliasOf(ctx: ProxyContext, teamId: string): string | null {
  // mutation-equivalent: outside the contract: team aliases come from our config file's teams, which LiteLLM keeps in its database; the harness's gateways have none, so every alias is null
  return ctx.config.modelsFile.teams.find((t) => t.teamId === teamId)?.teamAlias ?? null;
}

/** A key may use its team's models when the config file lists them, else every configured model. */
export function modelsForTeam(ctx: ProxyContext, teamId: string | null): string[] {
  // mutation-equivalent: outside the contract: which models a team may use is our config file's, as above; without teams every key lists every model
  const team = ctx.config.modelsFile.teams.find((t) => t.teamId === teamId);
  return team?.models ?? [...new Set(ctx.config.modelsFile.models.map((m) => m.modelName))];
}

function abortSignalOf(req: Request): AbortSignal {
  const controller = new AbortController();
  // 'close' on the response fires when the client goes away (or when we have answered).
  req.res?.once('close', () => controller.abort());
  return controller.signal;
}

function waitForChange(changed: Promise<void>, timeoutMs: number, aborted: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, timeoutMs);
    const onAbort = () => finish();
    // mutation-equivalent: finish() runs once whatever calls it; `once` only frees the listener sooner
    aborted.addEventListener('abort', onAbort, { once: true });
    changed.then(finish, finish);
    function finish() {
      clearTimeout(timer);
      aborted.removeEventListener('abort', onAbort);
      resolve();
    }
  });
}
