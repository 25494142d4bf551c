/**
 * `cli-sso-harness dev`: the mock IdP and the reference gateway in this one process, wired to each
 * other with LiteLLM's mock defaults (the IdP on 8765 with the `litellm-cli-test` client and the
 * built-in cast, the gateway on 4000 with the claim map docs/real-litellm.md uses and two models),
 * so that a developer logs in locally with one command instead of nine lines of environment.
 *
 * Each login shows as it happens, one line per step, from the two servers' own log events: the
 * CLI started it, the browser went to the IdP, the person signed in (as whom), the code was
 * confirmed, the key was handed out. No key, code, secret or token is printed, and nothing that
 * came from the network reaches the terminal with its control characters.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type Env } from '../../common/config.ts';
import { createLogger, type LogSink } from '../../common/logger.ts';
import { endpointUrls, loadMockIdpConfig, type MockIdp, startMockIdp } from '../../mock-idp/index.ts';
import { loadProxyConfig, type RunningProxy, startReferenceProxy } from '../../reference-proxy/index.ts';

/** LiteLLM's mock setup: the claims its mock IdP sends and the metadata keys they land under. */
export const DEFAULT_CLAIM_MAP = 'employment_type->acme_employment_type,org_info.department->department';
export const DEFAULT_EXTRA_ATTRIBUTES = 'employment_type,org_info.department';
export const DEFAULT_IDP_PORT = 8765;
export const DEFAULT_GATEWAY_PORT = 4000;
/** The models the conformance suite's gateways serve (features/main.ts), as a LiteLLM config.yaml. */
const DEFAULT_CONFIG_YAML = `model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
  - model_name: claude-3-haiku
    litellm_params:
      model: anthropic/claude-3-haiku-20240307
`;

export interface DevStackOptions {
  host: string;
  idpPort: number;
  gatewayPort: number;
  /** The mock IdP's users (and clients) file; default its built-in cast. */
  usersFile: string | undefined;
  /** Sign every authorization in as this user, without the IdP's sign-in page. */
  autoLogin: string | undefined;
  /** CLI_SSO_CLAIM_MAP; default DEFAULT_CLAIM_MAP (or the shell's CLI_SSO_CLAIM_MAP). */
  claimMap: string | undefined;
  /** A LiteLLM config.yaml with the models; default gpt-4o-mini and claude-3-haiku. */
  configFile: string | undefined;
  /**
   * The shell's environment: the gateway's and the mock's own variables (LITELLM_MASTER_KEY,
   * LITELLM_CLI_JWT_EXPIRATION_HOURS, MOCK_OIDC_EMAIL, ...) still apply, below the flags.
   */
  env: Env;
  cwd: string;
  /** Every JSON log line of both servers, as written (secrets redacted), for --verbose. */
  rawLog?: (line: string) => void;
  /** One line per step of each login. */
  print: (line: string) => void;
}

export interface DevStack {
  idp: MockIdp;
  gateway: RunningProxy;
  /** What to tell the developer: where things are and the commands that log in. */
  banner: string[];
  close(): Promise<void>;
}

/** A server could not listen where it was told. */
export class PortTakenError extends Error {
  constructor(
    readonly what: string,
    readonly host: string,
    readonly port: number,
    readonly flag: string,
    reason: string,
  ) {
    super(
      reason === 'EADDRINUSE'
        ? `port ${port} on ${host} is taken (the ${what} cannot listen there): stop what runs there or choose another port with ${flag}`
        : `the ${what} cannot listen on ${host}:${port} (${reason}): choose another port with ${flag}`,
    );
    this.name = 'PortTakenError';
  }
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const sink = (component: string): LogSink => ({
    write: (line: string) => {
      options.rawLog?.(line);
      const said = describeLogLine(line, component);
      if (said) options.print(said);
      return true;
    },
  });

  // Every problem of both configurations is reported together, before anything starts.
  const idpConfig = await loadMockIdpConfig(options.env, {
    host: options.host,
    port: String(options.idpPort),
    ...(options.usersFile ? { users: options.usersFile } : {}),
    ...(options.autoLogin ? { autoLogin: options.autoLogin } : {}),
  }).catch((error: unknown) => error as Error);
  const client = idpConfig instanceof Error ? undefined : idpConfig.options.clients?.[0];
  const generatedMasterKey = `sk-dev-${randomBytes(16).toString('hex')}`;
  const gatewayEnv = (idpIssuer: string): Env => {
    const endpoints = endpointUrls(idpIssuer);
    return {
      ...options.env,
      LITELLM_MASTER_KEY: options.env.LITELLM_MASTER_KEY || generatedMasterKey,
      EXPERIMENTAL_UI_LOGIN: options.env.EXPERIMENTAL_UI_LOGIN ?? 'true',
      GENERIC_CLIENT_ID: client?.clientId ?? 'litellm-cli-test',
      GENERIC_CLIENT_SECRET: client?.clientSecret ?? '',
      GENERIC_AUTHORIZATION_ENDPOINT: endpoints.authorization,
      GENERIC_TOKEN_ENDPOINT: endpoints.token,
      GENERIC_USERINFO_ENDPOINT: endpoints.userinfo,
      GENERIC_USER_EXTRA_ATTRIBUTES: options.env.GENERIC_USER_EXTRA_ATTRIBUTES ?? DEFAULT_EXTRA_ATTRIBUTES,
      CLI_SSO_CLAIM_MAP:
        options.claimMap ?? options.env.CLI_SSO_CLAIM_MAP ?? options.env.LITELLM_CLI_SSO_CLAIM_MAP ?? DEFAULT_CLAIM_MAP,
      // A developer's logins are for this session: no users file left in the working directory.
      REFERENCE_PROXY_SQLITE_PATH: options.env.REFERENCE_PROXY_SQLITE_PATH ?? ':memory:',
    };
  };
  const flags = {
    host: options.host,
    port: options.gatewayPort,
    ...(options.configFile ? { config: options.configFile } : {}),
  };
  const gatewayProblem = (() => {
    try {
      loadProxyConfig(gatewayEnv(`http://${options.host}:${options.idpPort || DEFAULT_IDP_PORT}`), flags, options.cwd);
      return undefined;
    } catch (error) {
      return error as Error;
    }
  })();
  const problems = [idpConfig, gatewayProblem].filter((e): e is Error => e instanceof Error);
  if (problems.length > 0) {
    const configProblems = problems.flatMap((e) => (e instanceof ConfigError ? [...e.problems] : []));
    const other = problems.find((e) => !(e instanceof ConfigError));
    if (other) throw other;
    throw new ConfigError(configProblems);
  }
  const mockConfig = idpConfig as Exclude<typeof idpConfig, Error>;

  const scratch = options.configFile ? undefined : await mkdtemp(join(tmpdir(), 'cli-sso-harness-dev-'));
  const cleanScratch = () => (scratch ? rm(scratch, { recursive: true, force: true }) : Promise.resolve());
  let idp: MockIdp;
  try {
    idp = await startMockIdp({
      ...mockConfig.options,
      logger: createLogger({ sink: sink('mock-idp'), component: 'mock-idp', level: mockConfig.logLevel }),
    }).catch((error: unknown) => {
      throw listenError(error, 'mock IdP', options.host, options.idpPort, '--idp-port');
    });
  } catch (error) {
    await cleanScratch();
    throw error;
  }
  let gateway: RunningProxy;
  try {
    if (scratch) await writeFile(join(scratch, 'config.yaml'), DEFAULT_CONFIG_YAML);
    const config = loadProxyConfig(
      gatewayEnv(idp.issuer),
      scratch ? { ...flags, config: join(scratch, 'config.yaml') } : flags,
      options.cwd,
    );
    gateway = await startReferenceProxy(config, { logSink: sink('reference-proxy') }).catch((error: unknown) => {
      throw listenError(error, 'reference gateway', options.host, options.gatewayPort, '--gateway-port');
    });
  } catch (error) {
    await idp.close();
    await cleanScratch();
    throw error;
  }

  const base = gateway.url;
  const masterKeyNote = options.env.LITELLM_MASTER_KEY
    ? 'master key: LITELLM_MASTER_KEY from this shell'
    : 'master key: a random one for this session (set LITELLM_MASTER_KEY to choose it)';
  const banner = [
    `mock IdP:          ${idp.url} (users: ${idp.users.usernames().join(', ')}${mockConfig.usersFile ? `, from ${mockConfig.usersFile}` : ''})`,
    mockConfig.options.autoLogin
      ? `                   every sign-in is ${mockConfig.options.autoLogin}, without a page`
      : '                   its sign-in page lists the users: pick one',
    `reference gateway: ${base} (client ${client?.clientId ?? 'litellm-cli-test'}; ${masterKeyNote})`,
    `claim map:         ${gatewayEnv(idp.issuer).CLI_SSO_CLAIM_MAP}`,
    '',
    'Log in with our CLI:',
    `  npx cli-sso login --base-url ${base}`,
    `  (from a clone: npm run cli -- login --base-url ${base})`,
    "Log in with LiteLLM's CLI:",
    `  LITELLM_PROXY_URL=${base} litellm-proxy login`,
    '',
    'Each login shows below as it happens. Ctrl-C stops both servers.',
  ];

  let closed: Promise<void> | undefined;
  return {
    idp,
    gateway,
    banner,
    close: () => {
      closed ??= (async () => {
        await Promise.allSettled([gateway.close(), idp.close()]);
        await cleanScratch();
      })();
      return closed;
    },
  };
}

function listenError(error: unknown, what: string, host: string, port: number, flag: string): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return new PortTakenError(what, host, port, flag, code);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Control characters (and so every escape sequence) out of a value that came from the network. */
function plain(value: unknown): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  return String(value ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}

/**
 * The line a developer sees for one of the servers' log events, or undefined for events that are
 * not a step of a login (requests, start-up). Fields are read as the servers log them, already
 * redacted; only ids, user names, teams and times are shown.
 */
/** ` (team X)`, or nothing for a credential without a team. */
function teamOf(entry: Record<string, unknown>): string {
  return entry.team_id ? ` (team ${plain(entry.team_id)})` : '';
}

export function describeLogLine(line: string, component: string): string | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const at = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const say = (text: string) => (at ? `${at} ${text}` : text);
  const login = `login ${plain(entry.login_id)}`;
  if (component === 'mock-idp') {
    switch (entry.event) {
      case 'interaction.login':
        return say(`IdP: ${plain(entry.username)} signed in (${plain(entry.via)})`);
      case 'interaction.login_refused':
        return say(`IdP: sign-in refused for ${plain(entry.username)}: ${plain(entry.reason)}`);
      case 'interaction.denied':
        return say('IdP: the person declined the sign-in');
      default:
        return undefined;
    }
  }
  switch (entry.event) {
    case 'flow_created':
      return say(`${login}: started by a CLI (${plain(entry.client_ip)})`);
    case 'flow_sent_to_idp':
      return say(`${login}: browser sent to the IdP to sign in`);
    case 'flow_sso_complete':
      return say(
        `${login}: signed in at the IdP as ${plain(entry.user_id)}; the browser asks for the code the CLI shows`,
      );
    case 'flow_code_rejected':
      return say(`${login}: a wrong code was typed`);
    case 'flow_deleted_after_wrong_codes':
      return say(`${login}: too many wrong codes: the login is over`);
    case 'flow_code_verified':
      return say(`${login}: code confirmed`);
    case 'flow_awaits_team_selection':
      return say(`${login}: waiting for the CLI to choose a team`);
    case 'flow_key_issued':
      return say(
        `${login}: key handed out to ${plain(entry.user_id)}${teamOf(entry)}, valid until ${plain(entry.key_expires_at)}`,
      );
    case 'idp_login_refused':
      return say(`${login}: the IdP refused the sign-in (${plain(entry.error)})`);
    case 'idp_exchange_failed':
      return say(`${login}: the gateway could not redeem the IdP's answer (${plain(entry.reason)})`);
    case 'email_domain_refused':
      return say(`${login}: ${plain(entry.user_id)} refused: email domain not allowed`);
    case 'cli_start_rate_limited':
      return say(`a login start from ${plain(entry.client_ip)} was refused: too many starts`);
    // The PKCE-native login (docs/contract.md section 10.6), which `cli-sso login` prefers: no login id.
    case 'native_code_issued':
      return say(`PKCE login: ${plain(entry.user_id)} approved the CLI on the consent page${teamOf(entry)}`);
    case 'native_code_redeemed':
      return say(`PKCE login: the code bought tokens for ${plain(entry.user_id)}${teamOf(entry)}`);
    case 'native_refresh_token_rotated':
      return say(`PKCE login: tokens renewed for ${plain(entry.user_id)}${teamOf(entry)}`);
    case 'native_refresh_token_revoked':
      return say(`PKCE login: ${plain(entry.user_id)}'s refresh token revoked (logout)`);
    case 'native_code_replayed':
    case 'native_refresh_token_replayed':
      return say(`PKCE login: a credential of ${plain(entry.user_id)} was used twice: that sign-in is revoked`);
    case 'ui_session_started':
      return say(`admin UI: ${plain(entry.user_id)} signed in`);
    case 'store_unavailable':
    case 'unexpected_error':
      return say(`gateway error at ${plain(entry.path)}: ${plain(entry.cause ?? entry.error)}`);
    default:
      return undefined;
  }
}
