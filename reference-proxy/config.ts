/**
 * The reference proxy's configuration: every variable of docs/contract.md section 3, plus our own
 * (state stores, flags), read once at start-up. Every problem is reported together, naming the
 * variable, the rule and the value (secrets by length only), as one ConfigError (exit code 2).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type Env, type EnvReader } from '../common/config.ts';
import {
  booleanSetting,
  choiceSetting,
  durationSetting,
  listSetting,
  portSetting,
  readSettings,
  requiredSetting,
  secretSetting,
  textSetting,
  urlSetting,
  wholeNumberSetting,
} from '../common/settings.ts';
import {
  CLAIM_RULES,
  type ClaimMapping,
  type ClaimRules,
  checkDestinationKey,
  readClaimMap,
} from '../protocol/claim-map.ts';
import { CONTRACT_PROFILES, type ContractProfile, NEWEST_CONTRACT_PROFILE } from '../protocol/profiles.ts';
import { type AdmissionSettings, DEFAULT_ADMISSION } from './admission.ts';
import { type ModelsFile, parseModelsFile } from './models-file.ts';

/** The gateway's OpenID Connect client settings (`GENERIC_*`). */
export interface IdpSettings {
  /** `GENERIC_CLIENT_ID` */
  clientId: string;
  /** `GENERIC_CLIENT_SECRET` */
  clientSecret: string | undefined;
  /** `GENERIC_AUTHORIZATION_ENDPOINT` */
  authorizationEndpoint: string;
  /** `GENERIC_TOKEN_ENDPOINT` */
  tokenEndpoint: string;
  /** `GENERIC_USERINFO_ENDPOINT` */
  userinfoEndpoint: string;
  /** `GENERIC_SCOPE`, space separated */
  scope: string;
  /** `GENERIC_CLIENT_USE_PKCE` */
  usePkce: boolean;
  /** Send client_id/client_secret in the token request body instead of HTTP Basic. */
  includeClientIdInBody: boolean;
}

/** Where identity fields come from in the userinfo JSON (dot paths, docs/contract.md section 4). */
export interface IdentityAttributes {
  userId: string;
  email: string;
  displayName: string;
  firstName: string | undefined;
  lastName: string | undefined;
  role: string;
  teams: string;
  /** GENERIC_USER_EXTRA_ATTRIBUTES: claim paths captured under their literal name. */
  extra: string[];
}

/**
 * The reference gateway's whole configuration, checked, as {@link loadProxyConfig} reads it from
 * LiteLLM's variables. Every variable is in reference-proxy/README.md's settings table.
 */
export interface ProxyConfig {
  /** `HOST` (flag `--host`) */
  host: string;
  /** `PORT` (flag `--port`) */
  port: number;
  /** PROXY_BASE_URL without a trailing slash; undefined = the request's own base URL. */
  publicBaseUrl: string | undefined;
  masterKey: string;
  /** LITELLM_SALT_KEY, else the master key: signs CLI keys and UI sessions. */
  signingSecret: string;
  experimentalUiLogin: boolean;
  cliKeyLifetimeSeconds: number;
  /** Seconds of leeway when checking a key's `exp` (docs/contract.md section 6: 0 unless set). */
  keyLeewaySeconds: number;
  /** 10 min under EXPERIMENTAL_UI_LOGIN, else LITELLM_UI_SESSION_DURATION. */
  uiSessionSeconds: number;
  claimMap: ClaimMapping[];
  /** CLI_SSO_CONTRACT_PROFILE: the LiteLLM generation whose rules the gateway follows where they differ. */
  profile: ContractProfile;
  /** The claim-map rules of {@link profile} (docs/contract.md section 10.4). */
  claimRules: ClaimRules;
  idp: IdpSettings;
  identity: IdentityAttributes;
  /** Lower-cased; empty = every domain. */
  allowedEmailDomains: string[];
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  /** SQLite file (or `:memory:`) used when DATABASE_URL is not set. */
  sqlitePath: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** From the LiteLLM-style config.yaml (`--config`, CONFIG_FILE_PATH); empty without one. */
  modelsFile: ModelsFile;
  configFilePath: string | undefined;
  /** Claim-map entries that were dropped at start-up, for one warning log line each. */
  claimMapWarnings: string[];
  /** When a start is refused because this replica is saturated (admission.ts). */
  admission: AdmissionSettings;
  /**
   * `verification_uri_complete` in the start answer and a pre-filled code page (docs/contract.md
   * section 10.8): ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE, else the config file's
   * `general_settings.allow_cli_sso_verification_uri_complete`, else off.
   */
  verificationUriComplete: boolean;
}

/** Command-line flags, which win over their variables. */
export interface ProxyFlags {
  /** Over `HOST`. */
  host?: string;
  /** Over `PORT`. */
  port?: string | number;
  /** Over `CONFIG_FILE_PATH`: a LiteLLM `config.yaml`. */
  config?: string;
}

export const UI_SESSION_SECONDS_UNDER_EXPERIMENTAL_LOGIN = 600;
export const DEFAULT_SQLITE_PATH = 'reference-proxy-users.sqlite';
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * Every setting of the reference proxy: the variables of docs/contract.md section 3 and our own.
 * This table reads them, writes `--help` and the README's table (reference-proxy/README.md).
 * @internal
 */
export const PROXY_SETTINGS = {
  host: textSetting({
    variable: 'HOST',
    flag: '--host <host>',
    default: '127.0.0.1',
    meaning: 'interface to listen on',
  }),
  // mutation-equivalent: the suite always tells a gateway its port; LiteLLM's default 4000 is not judged
  port: portSetting({ variable: 'PORT', flag: '--port <port>', default: 4000, meaning: 'port; `0` = any free port' }),
  configFile: textSetting({
    variable: 'CONFIG_FILE_PATH',
    flag: '--config <file>',
    meaning: 'LiteLLM `config.yaml`: `model_list` and teams (below)',
  }),
  publicBaseUrl: urlSetting({
    variable: 'PROXY_BASE_URL',
    shownDefault: 'request base URL',
    meaning: 'public base URL; the callback is `{PROXY_BASE_URL}/sso/callback`',
  }),
  masterKey: secretSetting({
    variable: 'LITELLM_MASTER_KEY',
    required: true,
    meaning:
      'admin key (`/user/info`, `/models`); signs CLI keys unless `LITELLM_SALT_KEY` is set; at least 32 bytes (see below)',
  }),
  saltKey: secretSetting({
    variable: 'LITELLM_SALT_KEY',
    shownDefault: 'master key',
    meaning: 'signs CLI keys and UI sessions; changing it invalidates every key issued before; at least 32 bytes',
  }),
  experimentalUiLogin: booleanSetting({
    variable: 'EXPERIMENTAL_UI_LOGIN',
    default: false,
    meaning: '`true`: CLI keys are accepted, and the UI session is fixed at 10 minutes',
  }),
  // LiteLLM reads CLI_JWT_EXPIRATION_HOURS first and LITELLM_CLI_JWT_EXPIRATION_HOURS after it
  // (litellm/constants.py; its test calls the first one canonical), although its documentation and
  // docs/contract.md name the LITELLM_ one: with both set, CLI_JWT_EXPIRATION_HOURS wins here too.
  cliKeyHours: wholeNumberSetting({
    variable: 'CLI_JWT_EXPIRATION_HOURS',
    aliases: ['LITELLM_CLI_JWT_EXPIRATION_HOURS'],
    default: 24,
    max: 24 * 365 * 10,
    meaning: 'CLI key lifetime in whole hours; with both names set, `CLI_JWT_EXPIRATION_HOURS` wins (as LiteLLM)',
  }),
  keyLeewaySeconds: wholeNumberSetting({
    variable: 'LITELLM_CLI_JWT_LEEWAY_SECONDS',
    default: 0,
    min: 0,
    max: 3600,
    meaning: "leeway on a key's `exp` (docs/contract.md section 6: none unless configured)",
  }),
  uiSessionSeconds: durationSetting({
    variable: 'LITELLM_UI_SESSION_DURATION',
    default: '24h',
    meaning: 'UI session (`90s`, `30m`, `24h`, `7d`, or seconds) when `EXPERIMENTAL_UI_LOGIN` is off',
  }),
  claimMap: textSetting({
    variable: 'CLI_SSO_CLAIM_MAP',
    aliases: ['LITELLM_CLI_SSO_CLAIM_MAP'],
    meaning: '`claim->metadata_key` pairs, comma separated; lenient as LiteLLM (skipped entries are warned about once)',
  }),
  profile: choiceSetting({
    variable: 'CLI_SSO_CONTRACT_PROFILE',
    choices: CONTRACT_PROFILES,
    default: NEWEST_CONTRACT_PROFILE,
    meaning:
      "contract profile followed where LiteLLM's generations differ: `litellm-v4` (current LiteLLM) or `litellm-v3` (the documented `litellm-proxy login`: numeric strings stored as numbers, `token` a blocked claim-map word, `400` for an IdP `error`, no PKCE-native login)",
  }),
  extraAttributes: listSetting({
    variable: 'GENERIC_USER_EXTRA_ATTRIBUTES',
    meaning: 'userinfo claim paths captured for the claim map',
  }),
  clientId: requiredSetting({ variable: 'GENERIC_CLIENT_ID', meaning: 'OIDC client id' }),
  clientSecret: secretSetting({
    variable: 'GENERIC_CLIENT_SECRET',
    meaning: 'client secret (without one, only `client_id` is sent in the body: a public client)',
  }),
  authorizationEndpoint: urlSetting({
    variable: 'GENERIC_AUTHORIZATION_ENDPOINT',
    // mutation-equivalent: the suite always gives the IdP's endpoints; a gateway started without them is
    // outside the contract
    required: true,
    meaning: 'IdP authorization endpoint (absolute http(s) URL)',
  }),
  tokenEndpoint: urlSetting({
    variable: 'GENERIC_TOKEN_ENDPOINT',
    // mutation-equivalent: the suite always gives the IdP's endpoints; a gateway started without them is
    // outside the contract
    required: true,
    meaning: 'IdP token endpoint',
  }),
  userinfoEndpoint: urlSetting({
    variable: 'GENERIC_USERINFO_ENDPOINT',
    // mutation-equivalent: the suite always gives the IdP's endpoints; a gateway started without them is
    // outside the contract
    required: true,
    meaning: 'IdP userinfo endpoint',
  }),
  scope: textSetting({
    variable: 'GENERIC_SCOPE',
    default: 'openid email profile',
    meaning: 'scopes asked of the IdP (space or comma separated)',
  }),
  verificationUriComplete: booleanSetting({
    variable: 'ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE',
    default: false,
    meaning:
      "`true`: the start answer carries `verification_uri_complete` and the code page comes pre-filled (the person still confirms); unset: the config file's `general_settings.allow_cli_sso_verification_uri_complete`",
  }),
  usePkce: booleanSetting({
    variable: 'GENERIC_CLIENT_USE_PKCE',
    default: false,
    meaning: 'send an S256 `code_challenge` (RFC 7636) and the `code_verifier`',
  }),
  includeClientIdInBody: booleanSetting({
    variable: 'GENERIC_INCLUDE_CLIENT_ID',
    default: false,
    meaning: 'client credentials in the token request body instead of HTTP Basic',
  }),
  userIdAttribute: textSetting({
    variable: 'GENERIC_USER_ID_ATTRIBUTE',
    default: 'preferred_username',
    meaning: 'user id path (fallbacks: first + last name, then email)',
  }),
  emailAttribute: textSetting({
    variable: 'GENERIC_USER_EMAIL_ATTRIBUTE',
    default: 'email',
    meaning: 'email path (see "Identity" below)',
  }),
  displayNameAttribute: textSetting({
    variable: 'GENERIC_USER_DISPLAY_NAME_ATTRIBUTE',
    default: 'sub',
    meaning: 'display name path',
  }),
  firstNameAttribute: textSetting({ variable: 'GENERIC_USER_FIRST_NAME_ATTRIBUTE', meaning: 'first name path' }),
  lastNameAttribute: textSetting({ variable: 'GENERIC_USER_LAST_NAME_ATTRIBUTE', meaning: 'last name path' }),
  roleAttribute: textSetting({
    variable: 'GENERIC_USER_ROLE_ATTRIBUTE',
    default: 'role',
    meaning: 'role path; only a known role is used',
  }),
  teamsAttribute: textSetting({
    variable: 'GENERIC_USER_TEAMS_ATTRIBUTE',
    default: 'teams',
    meaning: 'team ids path (a list, or a comma string); reference choice',
  }),
  allowedEmailDomains: listSetting({
    variable: 'ALLOWED_EMAIL_DOMAINS',
    shownDefault: 'any',
    meaning: 'comma list of domains; another domain (or no verified email) is `401` at the callback',
  }),
  redisUrl: secretSetting({
    variable: 'REDIS_URL',
    shownDefault: 'in memory',
    meaning: '`redis://` URL: flows, the start limit, long-poll wake-ups across replicas',
  }),
  databaseUrl: secretSetting({
    variable: 'DATABASE_URL',
    shownDefault: 'SQLite',
    meaning: '`postgres://` URL for users',
  }),
  sqlitePath: textSetting({
    variable: 'REFERENCE_PROXY_SQLITE_PATH',
    default: DEFAULT_SQLITE_PATH,
    meaning: 'SQLite file for users (relative to the working directory), or `:memory:`',
  }),
  logLevel: choiceSetting({
    variable: 'LOG_LEVEL',
    choices: LOG_LEVELS,
    default: 'info',
    meaning: '`debug`, `info`, `warn` or `error`',
  }),
  maxLoginsInFlight: wholeNumberSetting({
    variable: 'CLI_SSO_MAX_LOGINS_IN_FLIGHT',
    default: DEFAULT_ADMISSION.maxLoginsInFlight,
    min: 0,
    max: 1_000_000,
    meaning: 'logins in flight on this replica beyond which a start gets `503` with `Retry-After`; `0` = no bound',
  }),
  loginInFlightSeconds: wholeNumberSetting({
    variable: 'CLI_SSO_LOGIN_IN_FLIGHT_SECONDS',
    default: DEFAULT_ADMISSION.inFlightSeconds,
    max: 1200,
    meaning: 'how long an unfinished login counts as in flight, from its start',
  }),
  maxEventLoopDelayMs: wholeNumberSetting({
    variable: 'CLI_SSO_MAX_EVENT_LOOP_DELAY_MS',
    default: DEFAULT_ADMISSION.maxEventLoopDelayMs,
    min: 0,
    max: 60_000,
    meaning: 'recent event-loop delay beyond which a start gets `503` with `Retry-After`; `0` = not measured',
  }),
  maxStartQueueMs: wholeNumberSetting({
    variable: 'CLI_SSO_MAX_START_QUEUE_MS',
    default: DEFAULT_ADMISSION.maxStartQueueMs,
    min: 0,
    max: 60_000,
    meaning:
      'while the replica is saturated (it refused a start in the last 10 s), a start read later than this after its connection was accepted gets `503` with `Retry-After`; `0` = not measured',
  }),
  overloadRetryAfterSeconds: wholeNumberSetting({
    variable: 'CLI_SSO_OVERLOAD_RETRY_AFTER_SECONDS',
    default: DEFAULT_ADMISSION.retryAfterSeconds,
    max: 3600,
    meaning: '`Retry-After` of a start refused because the replica is saturated',
  }),
};

/**
 * Read and check the reference gateway's whole configuration from LiteLLM's variables, reporting
 * every problem together. The required ones are `LITELLM_MASTER_KEY` (at least 32 bytes, 8
 * different characters), `GENERIC_CLIENT_ID` and the three `GENERIC_*_ENDPOINT`s; the mock IdP's
 * `gatewayEnv()` gives the `GENERIC_*` ones.
 * @param env - the variables: `process.env`, or a test's own object
 * @param flags - command-line flags, which win over their variables
 * @param cwd - where relative paths (`CONFIG_FILE_PATH`, the SQLite file) are resolved
 * @defaultValue cwd: `'.'`
 * @returns the configuration for {@link startReferenceProxy}
 * @throws {@link ConfigError} listing every problem: the variable, the rule and the value (a secret by its length only)
 */
export function loadProxyConfig(env: Env, flags: ProxyFlags = {}, cwd = '.'): ProxyConfig {
  const { values: s, reader } = readSettings(PROXY_SETTINGS, env, { ...flags });
  const masterKey = s.masterKey ?? '';
  checkSecretStrength(reader, 'LITELLM_MASTER_KEY', masterKey);
  if (s.saltKey !== undefined) checkSecretStrength(reader, 'LITELLM_SALT_KEY', s.saltKey);
  const { mappings: claimMap, skipped: skippedClaimMapEntries } = readClaimMap(s.claimMap);

  const idp: IdpSettings = {
    clientId: s.clientId,
    clientSecret: s.clientSecret,
    authorizationEndpoint: s.authorizationEndpoint,
    tokenEndpoint: s.tokenEndpoint,
    userinfoEndpoint: s.userinfoEndpoint,
    scope: s.scope
      .split(/[\s,]+/)
      .filter(Boolean)
      .join(' '),
    usePkce: s.usePkce,
    includeClientIdInBody: s.includeClientIdInBody,
  };

  const identity: IdentityAttributes = {
    userId: s.userIdAttribute,
    email: s.emailAttribute,
    displayName: s.displayNameAttribute,
    firstName: s.firstNameAttribute,
    lastName: s.lastNameAttribute,
    role: s.roleAttribute,
    teams: s.teamsAttribute,
    extra: s.extraAttributes,
  };

  const allowedEmailDomains = s.allowedEmailDomains.map((d) => d.replace(/^@/, '').toLowerCase());
  // mutation-equivalent: as the REDIS_URL check below: the form check of our own setting's entries
  for (const domain of allowedEmailDomains) {
    if (!/^[a-z0-9.-]+$/.test(domain)) {
      reader.problem('ALLOWED_EMAIL_DOMAINS', 'each entry must be a domain name such as example.com', domain);
    }
  }
  // mutation-equivalent: the contract does not judge the form checks of our own store settings (LiteLLM
  // configures its stores with other settings); config.test.ts does
  if (s.redisUrl !== undefined && !/^rediss?:\/\//.test(s.redisUrl)) {
    reader.problem('REDIS_URL', 'must start with redis:// or rediss://', s.redisUrl, true);
  }
  // mutation-equivalent: as the REDIS_URL check above
  if (s.databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(s.databaseUrl)) {
    reader.problem('DATABASE_URL', 'must start with postgres:// or postgresql://', s.databaseUrl, true);
  }
  const sqlitePath = s.sqlitePath === ':memory:' ? s.sqlitePath : resolve(cwd, s.sqlitePath);
  const modelsFile = s.configFile ? readModelsFile(reader, resolve(cwd, s.configFile)) : { models: [], teams: [] };

  reader.finish();
  // The variable, when it is set, wins over the config file (as flags win over variables); a
  // litellm-v3 gateway has no such answer (docs/contract.md section 10.8).
  const verificationUriComplete =
    s.profile === 'litellm-v4' &&
    (env['ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE'] !== undefined
      ? s.verificationUriComplete
      : (modelsFile.allowVerificationUriComplete ?? false));
  return {
    host: s.host,
    port: s.port,
    publicBaseUrl: s.publicBaseUrl?.replace(/\/+$/, ''),
    masterKey,
    signingSecret: s.saltKey ?? masterKey,
    experimentalUiLogin: s.experimentalUiLogin,
    cliKeyLifetimeSeconds: s.cliKeyHours * 3600,
    keyLeewaySeconds: s.keyLeewaySeconds,
    uiSessionSeconds: s.experimentalUiLogin ? UI_SESSION_SECONDS_UNDER_EXPERIMENTAL_LOGIN : s.uiSessionSeconds,
    claimMap,
    profile: s.profile,
    claimRules: CLAIM_RULES[s.profile],
    idp,
    identity,
    allowedEmailDomains,
    redisUrl: s.redisUrl,
    databaseUrl: s.databaseUrl,
    sqlitePath,
    logLevel: s.logLevel,
    modelsFile,
    configFilePath: s.configFile,
    claimMapWarnings: claimMapWarnings(skippedClaimMapEntries, claimMap, identity.extra, CLAIM_RULES[s.profile]),
    admission: {
      maxLoginsInFlight: s.maxLoginsInFlight,
      inFlightSeconds: s.loginInFlightSeconds,
      maxEventLoopDelayMs: s.maxEventLoopDelayMs,
      maxStartQueueMs: s.maxStartQueueMs,
      retryAfterSeconds: s.overloadRetryAfterSeconds,
    },
    verificationUriComplete,
  };
}

/**
 * Reference choice: the floor under the secrets that sign keys and open the admin routes. Keys are
 * HMACs over LITELLM_SALT_KEY (or the master key): a 1-character salt key let a forged 10-year admin
 * key be found after 95 guesses. 32 bytes is the size of the HS256 key (RFC 7518 section 3.2 asks
 * for a key at least as long as the hash); 8 different characters turns away placeholders such as
 * 32 zeros. LiteLLM checks neither (it only asks that a master key start with `sk-`).
 */
export const MIN_SECRET_BYTES = 32;
export const MIN_SECRET_DISTINCT_CHARACTERS = 8;

function checkSecretStrength(reader: EnvReader, name: string, value: string): void {
  // mutation-equivalent: an empty required secret is already reported as missing
  if (value === '') return;
  const bytes = Buffer.byteLength(value, 'utf8');
  const distinct = new Set(value).size;
  if (bytes < MIN_SECRET_BYTES || distinct < MIN_SECRET_DISTINCT_CHARACTERS) {
    reader.problem(
      name,
      `must be a random secret of at least ${MIN_SECRET_BYTES} bytes with at least ${MIN_SECRET_DISTINCT_CHARACTERS} different characters (it has ${bytes} bytes, ${distinct} different characters); e.g. sk- followed by \`openssl rand -hex 32\``,
      value,
      true,
    );
  }
}

function readModelsFile(reader: EnvReader, path: string): ModelsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    // mutation-equivalent: a word of the problem's text only (ENOENT, EACCES), which the contract leaves free
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    reader.problem('CONFIG_FILE_PATH', `must name a readable file (${reason})`, path);
    return { models: [], teams: [] };
  }
  const parsed = parseModelsFile(text);
  if ('problems' in parsed) {
    for (const problem of parsed.problems) reader.problem('CONFIG_FILE_PATH', `${path}: ${problem}`, path);
    return { models: [], teams: [] };
  }
  return parsed;
}

/**
 * The claim map is parsed leniently, as LiteLLM does (docs/contract.md section 5): entries that do
 * not fit are skipped at run time. We still say so once at start-up, so a typo does not go
 * unnoticed.
 */
// mutation-equivalent: start-up warnings, a log: a skipped entry is skipped at run time whatever is logged
function claimMapWarnings(
  skipped: string[],
  mappings: ClaimMapping[],
  captured: string[],
  rules: ClaimRules,
): string[] {
  const warnings = [...skipped];
  for (const { source, destination } of mappings) {
    const verdict = checkDestinationKey(destination, rules);
    if (!verdict.allowed) warnings.push(`destination "${destination}" is dropped: ${verdict.reason}`);
    if (!captured.includes(source)) {
      warnings.push(`source "${source}" is not in GENERIC_USER_EXTRA_ATTRIBUTES, so it never yields a value`);
    }
  }
  return warnings;
}

export { ConfigError };
