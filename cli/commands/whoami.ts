/**
 * `cli-sso whoami [--json] [--verify]`: who is logged in, read from the token file without a network
 * call. The expiry is the exact one, from the key's `exp` claim or the stored
 * `expires_at`, compared with the machine's real clock; never a guessed 24 h. `--verify` also asks
 * the gateway whether it still takes the key.
 */
import { nowSeconds } from '../../common/clock.ts';
import { type CommandContext, say } from '../command-context.ts';
import { type CliError, EXIT_CODES } from '../exit-codes.ts';
import { GatewayClient, isTransient } from '../gateway-client.ts';
import { type ExpirySource, expiryOf, isExpired } from '../key-expiry.ts';
import { withRetries } from '../retry.ts';
import { normalizeBaseUrl } from '../settings.ts';
import { credentialsFor, explainKeyRefusal, isKeyRefusal, requireStoredLogin } from '../stored-login.ts';
import { shown } from '../terminal-safe.ts';
import { formatDuration, formatInstant, relativeTo } from '../time-format.ts';

export const VERIFY_TIMEOUT_MS = 30_000;

export interface WhoamiOptions {
  json: boolean;
  verify: boolean;
}

/** The `--json` document (stable field names, documented in cli/README.md). */
export interface WhoamiReport {
  loggedIn: true;
  gateway: string;
  userId: string;
  userEmail: string | null;
  userRole: string | null;
  teamId: string | null;
  tokenFile: string;
  loggedInAt: string;
  tokenAgeSeconds: number;
  expiresAt: string | null;
  expirySource: ExpirySource;
  expired: boolean;
  /** Only with --verify: did the gateway accept the key just now? */
  verified?: boolean;
}

const EXPIRY_SOURCE_WORDS: Record<ExpirySource, string> = {
  'jwt-exp': "from the key's exp claim",
  expires_at: 'from the expiry the gateway gave at login',
  unknown: 'the gateway did not say',
};

export async function whoami(ctx: CommandContext, options: WhoamiOptions): Promise<number> {
  const login = await requireStoredLogin(ctx);
  ctx.secrets.add(login.key);
  const now = nowSeconds(ctx.clock);
  const expiry = expiryOf(login);
  const expired = isExpired(expiry, now);
  const report: WhoamiReport = {
    loggedIn: true,
    gateway: normalizeBaseUrl(login.baseUrl),
    userId: login.userId,
    userEmail: login.userEmail,
    userRole: login.userRole,
    teamId: login.teamId,
    tokenFile: ctx.store.path,
    loggedInAt: new Date(login.timestamp * 1000).toISOString(),
    tokenAgeSeconds: Math.max(0, now - login.timestamp),
    expiresAt: expiry.expiresAt === null ? null : new Date(expiry.expiresAt * 1000).toISOString(),
    expirySource: expiry.source,
    expired,
  };

  let refusal: CliError | undefined;
  if (options.verify) {
    const credentials = await credentialsFor({ ...ctx, settings: { ...ctx.settings, apiKey: undefined } });
    const client = new GatewayClient({ baseUrl: credentials.baseUrl });
    const deadlineMs = ctx.clock.nowMs() + VERIFY_TIMEOUT_MS;
    try {
      await withRetries(
        () =>
          client.listModels({
            key: credentials.key,
            authHeaderName: credentials.authHeaderName,
            signal: ctx.signal,
            timeoutMs: VERIFY_TIMEOUT_MS,
          }),
        {
          firstDelayMs: ctx.settings.retryDelayMs,
          isRetryable: isTransient,
          signal: ctx.signal,
          clock: ctx.clock,
          deadlineMs,
        },
      );
      report.verified = true;
    } catch (error) {
      if (!isKeyRefusal(error)) throw error;
      report.verified = false;
      refusal = explainKeyRefusal(ctx, error, credentials);
    }
  }

  if (options.json) ctx.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else ctx.stdout.write(renderReport(report, expiry.expiresAt, now));

  if (refusal) throw refusal;
  if (expired) {
    say(ctx, 'The stored key has expired. Run `cli-sso login` to log in again.');
    return EXIT_CODES.expired;
  }
  return EXIT_CODES.ok;
}

/** Text for people; the user, email, role and team came from the gateway (CLISSO-CLI-23). */
function renderReport(report: WhoamiReport, expiresAt: number | null, now: number): string {
  const who = [report.userEmail, report.userRole]
    .filter((v) => v !== null)
    .map(shown)
    .join(', ');
  const loggedInAt = Math.floor(Date.parse(report.loggedInAt) / 1000);
  const expires =
    expiresAt === null
      ? `unknown (${EXPIRY_SOURCE_WORDS[report.expirySource]})`
      : `${formatInstant(expiresAt)} (${relativeTo(expiresAt, now)}; ${EXPIRY_SOURCE_WORDS[report.expirySource]})`;
  const status = report.expired
    ? `EXPIRED${expiresAt === null ? '' : ` ${formatDuration(now - expiresAt)} ago`}`
    : expiresAt === null
      ? 'not known to be expired (use --verify to ask the gateway)'
      : 'valid';
  const rows: Array<[string, string]> = [
    ['Gateway', shown(report.gateway)],
    ['User', who ? `${shown(report.userId)} (${who})` : shown(report.userId)],
    ['Team', report.teamId === null ? 'none' : shown(report.teamId)],
    ['Logged in', `${formatInstant(loggedInAt)} (${formatDuration(report.tokenAgeSeconds)} ago)`],
    ['Expires', expires],
    ['Status', status],
    ...(report.verified === undefined
      ? []
      : [
          ['Verified', report.verified ? 'the gateway accepts the key' : 'the gateway REFUSED the key'] as [
            string,
            string,
          ],
        ]),
    ['Token file', report.tokenFile],
  ];
  return `${rows.map(([label, value]) => `${`${label}:`.padEnd(12)}${value}`).join('\n')}\n`;
}
