/**
 * `cli-sso login`: the CLI's half of the CLI SSO sequence (docs/contract.md sections 1, 2 and 8).
 *
 *   start -> print URL, code and session id -> open a browser -> poll until ready -> store the key
 *
 * The URL and the code are printed before anything else is tried, so a person on a headless
 * machine can always finish the login on another device. The poll secret and the key are never
 * printed and never put in a URL.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowSeconds } from '../../common/clock.ts';
import {
  browserLoginUrl,
  formatUserCode,
  LOGIN_TIMEOUT_SECONDS,
  MAX_PREFER_WAIT_SECONDS,
  type PollAnswer,
  type StartAnswer,
} from '../../protocol/cli-sso.ts';
import { openBrowser } from '../browser-opener.ts';
import { type CommandContext, say } from '../command-context.ts';
import { CliError, EXIT_CODES } from '../exit-codes.ts';
import {
  GatewayClient,
  GatewayHttpError,
  GatewayTimeoutError,
  GatewayUnreachableError,
  isSendableSecret,
  isTransient,
  isWorthPollingAgain,
  SENDABLE_SECRET_RULE,
} from '../gateway-client.ts';
import { offGatewayRule } from '../gateway-link.ts';
import { readKeyClaims } from '../key-expiry.ts';
import { type LoginProgress, startLoginProgress } from '../login-progress.ts';
import { revokeReplaced } from '../pkce-renewal.ts';
import { withRetries } from '../retry.ts';
import { DEFAULT_BASE_URL } from '../settings.ts';
import { chooseTeam } from '../team-choice.ts';
import { shown } from '../terminal-safe.ts';
import { formatDuration, formatInstant, relativeTo } from '../time-format.ts';

export const DEFAULT_LOGIN_TIMEOUT_SECONDS = LOGIN_TIMEOUT_SECONDS;
/** How long we ask a gateway to hold a poll (RFC 7240 `Prefer: wait`), below its 30 s cap. */
export const LONG_POLL_WAIT_SECONDS = 25;
/** One request may take this long on top of any long-poll wait before it counts as lost. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Even a gateway that holds polls is not asked again sooner than this (guards against a hot loop). */
export const MIN_LONG_POLL_GAP_MS = 250;

export interface LoginOptions {
  /** false with --no-browser: only print. */
  browser: boolean;
  timeoutSeconds: number;
  team?: string | undefined;
}

type ReadyAnswer = Extract<PollAnswer, { status: 'ready' }>;

export async function login(ctx: CommandContext, options: LoginOptions): Promise<number> {
  const baseUrl = ctx.settings.explicitBaseUrl ?? DEFAULT_BASE_URL;
  const client = new GatewayClient({ baseUrl });
  const timeoutMs = options.timeoutSeconds * 1000;
  // While logging in, a request that timed out is worth another try until the deadline.
  const retry = (deadlineMs: number) => ({
    firstDelayMs: ctx.settings.retryDelayMs,
    isRetryable: (error: unknown) => isTransient(error) || error instanceof GatewayTimeoutError,
    signal: ctx.signal,
    clock: ctx.clock,
    deadlineMs,
  });

  // Starting gets the same time budget as the login itself...
  const startDeadlineMs = ctx.clock.nowMs() + timeoutMs;
  let started: StartAnswer;
  try {
    started = await withRetries(
      () =>
        client.start({
          signal: ctx.signal,
          timeoutMs: Math.min(REQUEST_TIMEOUT_MS, Math.max(1, startDeadlineMs - ctx.clock.nowMs())),
        }),
      { ...retry(startDeadlineMs), onRetry: (error, attempt, delayMs) => say(ctx, retryLine(error, attempt, delayMs)) },
    );
  } catch (error) {
    throw explainStartFailure(error, baseUrl);
  }
  ctx.secrets.add(started.pollSecret);
  if (!isSendableSecret(started.pollSecret)) {
    throw new CliError(
      'gatewayError',
      `the gateway's start answer holds a poll secret that cannot be sent back: it ${SENDABLE_SECRET_RULE}`,
      'This is a problem on the gateway; tell its operator.',
    );
  }

  // Section 8: URL, code and session id first, each on its own line, before any browser is tried.
  const url = browserLoginUrl(baseUrl, started.loginId);
  say(ctx, 'To log in, open this URL in a browser:');
  say(ctx);
  say(ctx, url);
  say(ctx);
  say(ctx, `Verification code: ${formatUserCode(started.userCode)}`);
  say(ctx, `Session id: ${started.loginId}`);
  say(ctx, 'Check that the browser shows the same code before you confirm.');
  say(ctx);
  await openTheBrowser(ctx, browserLink(ctx, baseUrl, started, url), options.browser);

  // ...and the person gets the whole --timeout from the moment the URL is on the screen.
  const startedMs = ctx.clock.nowMs();
  const deadlineMs = startedMs + timeoutMs;
  const remainingMs = () => deadlineMs - ctx.clock.nowMs();
  const progress = await startLoginProgress({
    stream: ctx.stderr,
    isTTY: ctx.stderrIsTTY,
    clock: ctx.clock,
    startedMs,
    deadlineMs,
  });
  let ready: ReadyAnswer;
  try {
    ready = await pollUntilReady(ctx, client, started, options, progress, {
      ...retry(deadlineMs),
      isRetryable: (error: unknown) => isWorthPollingAgain(error) || error instanceof GatewayTimeoutError,
      remainingMs,
    });
  } finally {
    progress.stop();
  }

  ctx.secrets.add(ready.key);
  if (!isSendableSecret(ready.key)) {
    // Stored, it would only fail later, in every command, and a line break in it could split a header.
    throw new CliError(
      'gatewayError',
      `the gateway handed out a key that cannot be used: a key ${SENDABLE_SECRET_RULE}; it was not stored`,
      'This is a problem on the gateway; tell its operator.',
    );
  }
  const claims = readKeyClaims(ready.key);
  const now = nowSeconds(ctx.clock);
  const expiresAt = claims.expiresAt ?? (ready.expiresInSeconds !== undefined ? now + ready.expiresInSeconds : null);
  // LiteLLM's order: the new login is saved first, then the one it replaces is revoked.
  const previous = await ctx.store.read().catch(() => undefined);
  await ctx.store.write({
    baseUrl,
    key: ready.key,
    userId: ready.userId,
    userEmail: claims.email,
    userRole: claims.role,
    teamId: ready.teamId,
    authHeaderName: 'Authorization',
    timestamp: now,
    expiresAt,
  });
  await revokeReplaced(ctx, previous);
  say(ctx, `Logged in to ${baseUrl} as ${shown(ready.userId)}${ready.teamId ? ` (team ${shown(ready.teamId)})` : ''}.`);
  say(
    ctx,
    expiresAt === null
      ? 'The gateway did not say when the key expires.'
      : `The key expires at ${formatInstant(expiresAt)} (${relativeTo(expiresAt, now)}).`,
  );
  say(ctx, `Saved to ${ctx.store.path}.`);
  return EXIT_CODES.ok;
}

/**
 * The link to open: the gateway's `verification_uri_complete` (the code filled in, docs/contract.md
 * section 10.8) when it is this login's browser URL on this gateway, else the plain URL. A link that
 * leads anywhere else is not opened, and the person is told (CLISSO-CLI-29); the plain URL and the
 * code are on the screen either way, so the person can compare what the browser shows.
 */
function browserLink(ctx: CommandContext, baseUrl: string, started: StartAnswer, plainUrl: string): string {
  const offered = started.verificationUriComplete;
  if (offered === undefined) return plainUrl;
  const rule = offGatewayRule(baseUrl, offered) ?? notThisLoginRule(offered, plainUrl);
  if (rule !== undefined) {
    say(
      ctx,
      `Warning: the gateway's start answer offers a browser link that is not used: verification_uri_complete ${rule}; the plain URL above is used instead.`,
    );
    return plainUrl;
  }
  say(ctx, 'The gateway offers a link with the code filled in; it is the one opened:');
  say(ctx, shown(offered));
  say(ctx);
  return offered;
}

/** Why a link on the gateway is not this login's browser URL (another path, another login id), or undefined. */
function notThisLoginRule(offered: string, plainUrl: string): string | undefined {
  const link = new URL(offered);
  const plain = new URL(plainUrl);
  if (link.pathname === plain.pathname && link.searchParams.get('key') === plain.searchParams.get('key')) {
    return undefined;
  }
  return `must be this login's browser URL, ${plain.origin}${plain.pathname}?...key=${plain.searchParams.get('key')} (got ${shown(JSON.stringify(offered))})`;
}

export async function openTheBrowser(ctx: CommandContext, url: string, wanted: boolean): Promise<void> {
  if (!wanted) {
    say(ctx, 'Not opening a browser (--no-browser): open the URL above yourself.');
    return;
  }
  const result = await openBrowser({
    url,
    env: ctx.env,
    platform: ctx.platform,
    ...(ctx.openWithPlatform ? { openWithPlatform: ctx.openWithPlatform } : {}),
  });
  say(
    ctx,
    result.opened
      ? `Opening the browser (${result.how}).`
      : `Could not open a browser (${result.how}): open the URL above yourself.`,
  );
}

interface PollLoopOptions {
  firstDelayMs: number;
  isRetryable: (error: unknown) => boolean;
  signal: AbortSignal;
  clock: CommandContext['clock'];
  deadlineMs: number;
  remainingMs: () => number;
}

async function pollUntilReady(
  ctx: CommandContext,
  client: GatewayClient,
  started: StartAnswer,
  options: LoginOptions,
  progress: LoginProgress,
  loop: PollLoopOptions,
): Promise<ReadyAnswer> {
  let teamId = options.team;
  for (;;) {
    if (loop.remainingMs() <= 0) throw loginTimedOut(options.timeoutSeconds);
    // Ask for a long poll on every request: LiteLLM ignores the header and answers at once, our
    // gateway holds the request and says so with Preference-Applied (RFC 7240 section 3).
    const remainingS = Math.floor(loop.remainingMs() / 1000);
    const preferWaitSeconds = Math.min(LONG_POLL_WAIT_SECONDS, MAX_PREFER_WAIT_SECONDS, remainingS - 1);
    const waitS = preferWaitSeconds >= 1 ? preferWaitSeconds : undefined;
    const polledAtMs = ctx.clock.nowMs();
    let result: Awaited<ReturnType<GatewayClient['poll']>>;
    try {
      result = await withRetries(
        () =>
          client.poll({
            loginId: started.loginId,
            pollSecret: started.pollSecret,
            ...(teamId !== undefined ? { teamId } : {}),
            ...(waitS !== undefined ? { preferWaitSeconds: waitS } : {}),
            signal: loop.signal,
            timeoutMs: Math.max(1, Math.min(loop.remainingMs(), (waitS ?? 0) * 1000 + REQUEST_TIMEOUT_MS)),
          }),
        { ...loop, onRetry: (error, attempt, delayMs) => progress.note(retryLine(error, attempt, delayMs)) },
      );
    } catch (error) {
      if (loop.remainingMs() <= 0 && !(error instanceof GatewayHttpError)) throw loginTimedOut(options.timeoutSeconds);
      throw explainPollFailure(error, client.baseUrl, teamId);
    }
    const answer = result.answer;
    if (answer.status === 'ready') return answer;
    if (answer.status === 'team_selection') {
      if (teamId !== undefined) {
        throw new CliError(
          'gatewayError',
          `the gateway asked for a team again although team_id=${shown(teamId)} was sent`,
        );
      }
      progress.pause();
      teamId = await chooseTeam({
        teams: answer.teams,
        teamDetails: answer.teamDetails,
        interactive: ctx.interactive,
        input: ctx.stdin,
        output: ctx.stderr,
        signal: ctx.signal,
      });
      progress.resume();
      continue;
    }
    // Pending. A held poll already waited (a short gap guards against a gateway that answers at
    // once while claiming to hold); otherwise wait LiteLLM's 2 s after each answer (section 8).
    const waitMs = Math.min(
      result.longPollHonoured ? polledAtMs + MIN_LONG_POLL_GAP_MS - ctx.clock.nowMs() : ctx.settings.pollIntervalMs,
      loop.remainingMs(),
    );
    if (waitMs > 0) await sleep(waitMs, undefined, { signal: ctx.signal });
  }
}

function retryLine(error: unknown, nextAttempt: number, delayMs: number): string {
  const reason =
    error instanceof GatewayUnreachableError
      ? `cannot reach the gateway (${error.reason})`
      : error instanceof GatewayHttpError
        ? `the gateway answered HTTP ${error.status}`
        : error instanceof GatewayTimeoutError
          ? 'the gateway did not answer in time'
          : 'the request failed';
  return `${reason}; trying again in ${(delayMs / 1000).toFixed(1)} s (attempt ${nextAttempt}).`;
}

function loginTimedOut(timeoutSeconds: number): CliError {
  return new CliError(
    'timedOut',
    `the login was not completed within ${formatDuration(timeoutSeconds)}`,
    'Run `cli-sso login` again and finish the login in the browser (or give more time with --timeout <seconds>).',
  );
}

/** Section 2 (start): what each failure of POST /sso/cli/start means for the person. */
function explainStartFailure(error: unknown, baseUrl: string): unknown {
  if (error instanceof GatewayTimeoutError) {
    return new CliError(
      'timedOut',
      `the gateway at ${baseUrl} did not answer when asked to start a login`,
      'Check that the gateway is up and --base-url / LITELLM_PROXY_URL is right.',
    );
  }
  if (!(error instanceof GatewayHttpError)) return error;
  const said = error.gatewayMessage ? `: ${error.gatewayMessage}` : '';
  if (error.status === 404 || error.status === 405) {
    return new CliError(
      'refused',
      `the gateway at ${baseUrl} has no CLI login (POST /sso/cli/start answered HTTP ${error.status}${said})`,
      'The gateway is too old for CLI SSO or is not a LiteLLM-style gateway. Check --base-url / LITELLM_PROXY_URL, or ask its operator for a LiteLLM version with CLI SSO.',
    );
  }
  if (error.status === 429) {
    return new CliError(
      'refused',
      `the gateway refused to start another CLI login (HTTP 429${said})`,
      'Too many logins were started from this address; wait a minute and run `cli-sso login` again.',
    );
  }
  if (error.status === 401 || error.status === 403) {
    return new CliError(
      'refused',
      `the gateway refused to start a CLI login (HTTP ${error.status}${said})`,
      'CLI login may be switched off on this gateway; ask its operator.',
    );
  }
  if (error.status >= 500) {
    return new CliError(
      'gatewayError',
      `the gateway failed to start a CLI login (HTTP ${error.status}${said})`,
      'This is a problem on the gateway; try again later or tell its operator.',
    );
  }
  return new CliError('refused', `the gateway refused to start a CLI login (HTTP ${error.status}${said})`);
}

/** Section 2 (poll): what each failure of GET /sso/cli/poll means for the person. */
function explainPollFailure(error: unknown, baseUrl: string, teamId: string | undefined): unknown {
  if (!(error instanceof GatewayHttpError)) return error;
  const said = error.gatewayMessage ? `: ${error.gatewayMessage}` : '';
  if (error.status === 400) {
    return new CliError(
      'refused',
      `the gateway no longer knows this login session (HTTP 400${said})`,
      'It expired or was already used; run `cli-sso login` again. If this happens every time, the gateway may keep sessions per replica without a shared store (protocol.md section 9).',
    );
  }
  if (error.status === 403 && teamId !== undefined && /team/i.test(error.gatewayMessage ?? '')) {
    return new CliError(
      'refused',
      `the gateway says you are not in team ${shown(teamId)} (HTTP 403${said})`,
      'Run `cli-sso login` again with --team set to one of your teams, or without --team to choose.',
    );
  }
  if (error.status === 403) {
    return new CliError(
      'refused',
      `the gateway rejected this login's poll secret (HTTP 403${said})`,
      'Run `cli-sso login` again.',
    );
  }
  if (error.status === 404 || error.status === 405) {
    return new CliError(
      'refused',
      `the gateway at ${baseUrl} does not serve GET /sso/cli/poll (HTTP ${error.status}${said})`,
      'The gateway is too old for CLI SSO or is not a LiteLLM-style gateway.',
    );
  }
  if (error.status === 429) {
    return new CliError(
      'gatewayError',
      `the gateway kept answering HTTP 429 while the CLI waited${said}`,
      'Wait a minute and run `cli-sso login` again.',
    );
  }
  if (error.status >= 500) {
    return new CliError(
      'gatewayError',
      `the gateway failed while the CLI waited for the login (HTTP ${error.status}${said})`,
      'This is a problem on the gateway; try again later or tell its operator.',
    );
  }
  return new CliError(
    'refused',
    `the gateway refused the poll (HTTP ${error.status}${said})`,
    'Run `cli-sso login` again.',
  );
}
