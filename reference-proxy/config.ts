/**
 * The reference proxy's configuration: every variable of docs/contract.md section 3, plus our own
 * (state stores, flags), read once at start-up. Every problem is reported together, naming the
 * variable, the rule and the value (secrets by length only), as one ConfigError (exit code 2).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type Env, EnvReader, parseDurationSeconds } from '../common/config.ts';
import { type ClaimMapping, checkDestinationKey, parseClaimMap } from '../protocol/claim-map.ts';
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
 * LiteLLM's variables. Every variable is in reference-proxy/README.md and {@link PROXY_VARIABLES}.
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

/** One row of `--help`: every variable, its default and its meaning. */
export interface VariableHelp {
  /** The variable, e.g. `LITELLM_MASTER_KEY`. */
  name: string;
  /** Its default, or `(required)`. */
  defaultValue: string;
  /** What it does. */
  meaning: string;
}

/** Every variable the reference gateway reads, with its default and meaning (what `reference-proxy --help` prints). */
export const PROXY_VARIABLES: readonly VariableHelp[] = [
  { name: 'HOST', defaultValue: '127.0.0.1', meaning: 'interface to listen on (flag --host wins)' },
  { name: 'PORT', defaultValue: '4000', meaning: 'port to listen on, 0 = any free port (flag --port wins)' },
  {
    name: 'CONFIG_FILE_PATH',
    defaultValue: '(none)',
    meaning: 'LiteLLM config.yaml: model_list, teams (flag --config wins)',
  },
  {
    name: 'PROXY_BASE_URL',
    defaultValue: '(request base URL)',
    meaning: 'public base URL; callback = {PROXY_BASE_URL}/sso/callback',
  },
  {
    name: 'LITELLM_MASTER_KEY',
    defaultValue: '(required)',
    meaning: 'admin key for /user/info; signs CLI keys unless LITELLM_SALT_KEY is set; at least 32 bytes',
  },
  {
    name: 'LITELLM_SALT_KEY',
    defaultValue: '(master key)',
    meaning: 'signs CLI keys and UI sessions; changing it invalidates them; at least 32 bytes',
  },
  {
    name: 'EXPERIMENTAL_UI_LOGIN',
    defaultValue: 'false',
    meaning: 'true = accept CLI keys and fix the UI session at 10 minutes',
  },
  {
    name: 'LITELLM_CLI_JWT_EXPIRATION_HOURS',
    defaultValue: '24',
    meaning: 'CLI key lifetime in hours (also CLI_JWT_EXPIRATION_HOURS, which wins when both are set)',
  },
  { name: 'LITELLM_CLI_JWT_LEEWAY_SECONDS', defaultValue: '0', meaning: 'clock leeway when checking a key expiry' },
  {
    name: 'LITELLM_UI_SESSION_DURATION',
    defaultValue: '24h',
    meaning: 'UI session length (30m, 24h, 7d, seconds) when EXPERIMENTAL_UI_LOGIN is off',
  },
  {
    name: 'CLI_SSO_CLAIM_MAP',
    defaultValue: '(none)',
    meaning: 'source_claim->metadata_key pairs, comma separated (alias LITELLM_CLI_SSO_CLAIM_MAP)',
  },
  {
    name: 'GENERIC_USER_EXTRA_ATTRIBUTES',
    defaultValue: '(none)',
    meaning: 'comma list of userinfo claim paths captured for the claim map',
  },
  { name: 'GENERIC_CLIENT_ID', defaultValue: '(required)', meaning: 'OIDC client id' },
  { name: 'GENERIC_CLIENT_SECRET', defaultValue: '(none)', meaning: 'OIDC client secret' },
  { name: 'GENERIC_AUTHORIZATION_ENDPOINT', defaultValue: '(required)', meaning: 'IdP authorization endpoint' },
  { name: 'GENERIC_TOKEN_ENDPOINT', defaultValue: '(required)', meaning: 'IdP token endpoint' },
  { name: 'GENERIC_USERINFO_ENDPOINT', defaultValue: '(required)', meaning: 'IdP userinfo endpoint' },
  { name: 'GENERIC_SCOPE', defaultValue: 'openid email profile', meaning: 'scopes asked of the IdP' },
  { name: 'GENERIC_CLIENT_USE_PKCE', defaultValue: 'false', meaning: 'send an S256 code_challenge (RFC 7636)' },
  {
    name: 'GENERIC_INCLUDE_CLIENT_ID',
    defaultValue: 'false',
    meaning: 'client credentials in the token request body instead of HTTP Basic',
  },
  { name: 'GENERIC_USER_ID_ATTRIBUTE', defaultValue: 'preferred_username', meaning: 'userinfo path of the user id' },
  { name: 'GENERIC_USER_EMAIL_ATTRIBUTE', defaultValue: 'email', meaning: 'userinfo path of the email (lower-cased)' },
  { name: 'GENERIC_USER_DISPLAY_NAME_ATTRIBUTE', defaultValue: 'sub', meaning: 'userinfo path of the display name' },
  { name: 'GENERIC_USER_FIRST_NAME_ATTRIBUTE', defaultValue: '(none)', meaning: 'userinfo path of the first name' },
  { name: 'GENERIC_USER_LAST_NAME_ATTRIBUTE', defaultValue: '(none)', meaning: 'userinfo path of the last name' },
  {
    name: 'GENERIC_USER_ROLE_ATTRIBUTE',
    defaultValue: 'role',
    meaning: 'userinfo path of the role (known roles only)',
  },
  {
    name: 'GENERIC_USER_TEAMS_ATTRIBUTE',
    defaultValue: 'teams',
    meaning: 'userinfo path of the team ids (reference choice)',
  },
  {
    name: 'ALLOWED_EMAIL_DOMAINS',
    defaultValue: '(any)',
    meaning: 'comma list; other email domains get 401 at the callback',
  },
  {
    name: 'REDIS_URL',
    defaultValue: '(in memory)',
    meaning: 'redis:// URL for flows, the start limit and long-poll wake-ups',
  },
  { name: 'DATABASE_URL', defaultValue: '(SQLite)', meaning: 'postgres:// URL for users' },
  {
    name: 'REFERENCE_PROXY_SQLITE_PATH',
    defaultValue: DEFAULT_SQLITE_PATH,
    meaning: 'SQLite file for users (relative to the working directory), or :memory:',
  },
  { name: 'LOG_LEVEL', defaultValue: 'info', meaning: 'debug, info, warn or error' },
];

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
  const reader = new EnvReader(env);

  const host = flags.host ?? reader.string('HOST', { default: '127.0.0.1' });
  const port = flags.port !== undefined ? flagPort(reader, flags.port) : reader.port('PORT', 4000);

  const publicBaseUrl = reader.url('PROXY_BASE_URL')?.replace(/\/+$/, '');
  const masterKey = reader.required('LITELLM_MASTER_KEY', { secret: true });
  const saltKey = reader.string('LITELLM_SALT_KEY', { secret: true });
  checkSecretStrength(reader, 'LITELLM_MASTER_KEY', masterKey);
  if (saltKey !== undefined) checkSecretStrength(reader, 'LITELLM_SALT_KEY', saltKey);
  const experimentalUiLogin = reader.bool('EXPERIMENTAL_UI_LOGIN', false);
  // LiteLLM reads CLI_JWT_EXPIRATION_HOURS first and LITELLM_CLI_JWT_EXPIRATION_HOURS after it
  // (litellm/constants.py; its test calls the first one canonical), although its documentation and
  // docs/contract.md name the LITELLM_ one: with both set, CLI_JWT_EXPIRATION_HOURS wins here too.
  const hours = reader.positiveInt('CLI_JWT_EXPIRATION_HOURS', 24, {
    aliases: ['LITELLM_CLI_JWT_EXPIRATION_HOURS'],
    max: 24 * 365 * 10,
  });
  const keyLeewaySeconds = nonNegativeInt(reader, 'LITELLM_CLI_JWT_LEEWAY_SECONDS', 0, 3600);
  const uiDuration = reader.string('LITELLM_UI_SESSION_DURATION', { default: '24h' });
  const uiDurationSeconds = parseDurationSeconds(uiDuration);
  if (uiDurationSeconds === undefined) {
    reader.problem('LITELLM_UI_SESSION_DURATION', 'must be a duration such as 30m, 24h, 7d or seconds', uiDuration);
  }

  const rawClaimMap = reader.string('CLI_SSO_CLAIM_MAP', { aliases: ['LITELLM_CLI_SSO_CLAIM_MAP'] });
  const claimMap = parseClaimMap(rawClaimMap);

  const idp: IdpSettings = {
    clientId: reader.required('GENERIC_CLIENT_ID'),
    clientSecret: reader.string('GENERIC_CLIENT_SECRET', { secret: true }),
    authorizationEndpoint: requiredUrl(reader, 'GENERIC_AUTHORIZATION_ENDPOINT'),
    tokenEndpoint: requiredUrl(reader, 'GENERIC_TOKEN_ENDPOINT'),
    userinfoEndpoint: requiredUrl(reader, 'GENERIC_USERINFO_ENDPOINT'),
    scope: reader
      .string('GENERIC_SCOPE', { default: 'openid email profile' })
      .split(/[\s,]+/)
      .filter(Boolean)
      .join(' '),
    usePkce: reader.bool('GENERIC_CLIENT_USE_PKCE', false),
    includeClientIdInBody: reader.bool('GENERIC_INCLUDE_CLIENT_ID', false),
  };

  const identity: IdentityAttributes = {
    userId: reader.string('GENERIC_USER_ID_ATTRIBUTE', { default: 'preferred_username' }),
    email: reader.string('GENERIC_USER_EMAIL_ATTRIBUTE', { default: 'email' }),
    displayName: reader.string('GENERIC_USER_DISPLAY_NAME_ATTRIBUTE', { default: 'sub' }),
    firstName: reader.string('GENERIC_USER_FIRST_NAME_ATTRIBUTE'),
    lastName: reader.string('GENERIC_USER_LAST_NAME_ATTRIBUTE'),
    role: reader.string('GENERIC_USER_ROLE_ATTRIBUTE', { default: 'role' }),
    teams: reader.string('GENERIC_USER_TEAMS_ATTRIBUTE', { default: 'teams' }),
    extra: reader.list('GENERIC_USER_EXTRA_ATTRIBUTES'),
  };

  const allowedEmailDomains = reader.list('ALLOWED_EMAIL_DOMAINS').map((d) => d.replace(/^@/, '').toLowerCase());
  for (const domain of allowedEmailDomains) {
    if (!/^[a-z0-9.-]+$/.test(domain)) {
      reader.problem('ALLOWED_EMAIL_DOMAINS', 'each entry must be a domain name such as example.com', domain);
    }
  }

  const redisUrl = reader.string('REDIS_URL', { secret: true });
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    reader.problem('REDIS_URL', 'must start with redis:// or rediss://', redisUrl, true);
  }
  const databaseUrl = reader.string('DATABASE_URL', { secret: true });
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    reader.problem('DATABASE_URL', 'must start with postgres:// or postgresql://', databaseUrl, true);
  }
  const sqliteSetting = reader.string('REFERENCE_PROXY_SQLITE_PATH', { default: DEFAULT_SQLITE_PATH });
  const sqlitePath = sqliteSetting === ':memory:' ? sqliteSetting : resolve(cwd, sqliteSetting);
  const logLevel = reader.oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info');

  const configFilePath = flags.config ?? reader.string('CONFIG_FILE_PATH');
  const modelsFile = configFilePath ? readModelsFile(reader, resolve(cwd, configFilePath)) : { models: [], teams: [] };

  reader.finish();
  return {
    host,
    port,
    publicBaseUrl,
    masterKey,
    signingSecret: saltKey ?? masterKey,
    experimentalUiLogin,
    cliKeyLifetimeSeconds: hours * 3600,
    keyLeewaySeconds,
    uiSessionSeconds: experimentalUiLogin ? UI_SESSION_SECONDS_UNDER_EXPERIMENTAL_LOGIN : (uiDurationSeconds ?? 86400),
    claimMap,
    idp,
    identity,
    allowedEmailDomains,
    redisUrl,
    databaseUrl,
    sqlitePath,
    logLevel,
    modelsFile,
    configFilePath,
    claimMapWarnings: claimMapWarnings(rawClaimMap, claimMap, identity.extra),
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

function flagPort(reader: EnvReader, value: string | number): number {
  const text = String(value).trim();
  if (!/^[0-9]+$/.test(text) || Number(text) > 65535) {
    reader.problem('--port', 'must be a port number from 0 to 65535', text);
    return 4000;
  }
  return Number(text);
}

function requiredUrl(reader: EnvReader, name: string): string {
  if (!reader.raw(name)) return reader.required(name);
  return reader.url(name) ?? '';
}

function nonNegativeInt(reader: EnvReader, name: string, fallback: number, max: number): number {
  const found = reader.raw(name);
  if (!found) return fallback;
  const text = found.value.trim();
  if (!/^[0-9]+$/.test(text) || Number(text) > max) {
    reader.problem(name, `must be a whole number from 0 to ${max}`, found.value);
    return fallback;
  }
  return Number(text);
}

function readModelsFile(reader: EnvReader, path: string): ModelsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
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
function claimMapWarnings(raw: string | undefined, mappings: ClaimMapping[], captured: string[]): string[] {
  const warnings: string[] = [];
  for (const entry of (raw ?? '').split(',').map((e) => e.trim())) {
    if (entry !== '' && !entry.includes('->')) warnings.push(`entry "${entry}" has no "->" and is skipped`);
  }
  for (const { source, destination } of mappings) {
    const verdict = checkDestinationKey(destination);
    if (!verdict.allowed) warnings.push(`destination "${destination}" is dropped: ${verdict.reason}`);
    if (!captured.includes(source)) {
      warnings.push(`source "${source}" is not in GENERIC_USER_EXTRA_ATTRIBUTES, so it never yields a value`);
    }
  }
  return warnings;
}

export { ConfigError };
