/**
 * The mock IdP's configuration, read once at the edge from flags, environment and the users file
 * (architecture.md, convention 1). A flag wins over its variable. Every problem — variables, flags
 * and the users file — is reported together in one ConfigError. LiteLLM's mock variables
 * (`MOCK_OIDC_*`, docs/contract.md section 9) work unchanged.
 */
import { isAbsolute, join } from 'node:path';
import { ConfigError, type ConfigProblem, type Env } from '../common/config.ts';
import type { LogLevel } from '../common/logger.ts';
import {
  booleanSetting,
  choiceSetting,
  portSetting,
  readSettings,
  secretSetting,
  textSetting,
  urlSetting,
} from '../common/settings.ts';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, defaultClient } from './clients.ts';
import { MIN_CONTROL_TOKEN_LENGTH } from './control-api.ts';
import { DEFAULT_HOST, DEFAULT_PORT, type MockIdpOptions } from './mock-idp.ts';
import { builtInCast, type DefaultUserOverrides, LITELLM_DEFAULT_USER } from './users.ts';
import { loadUsersFile, type UsersFile, UsersFileError } from './users-file.ts';

/**
 * The command's flags, as commander hands them over.
 * @internal
 */
export interface MockIdpFlags {
  host?: string;
  port?: string;
  issuer?: string;
  users?: string;
  autoLogin?: string;
  idTokenClaims?: boolean;
  keyCache?: string;
  logLevel?: string;
}

/**
 * The command's configuration: the options of {@link startMockIdp} and the log level.
 * @internal
 */
export interface MockIdpConfig {
  options: MockIdpOptions;
  logLevel: LogLevel;
  /** The users file read, if any (for the start banner). */
  usersFile?: string;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Variables that only shape the built-in cast and default client, so a users file makes them moot. */
const BUILT_IN_ONLY = {
  users: ['MOCK_OIDC_SUB', 'MOCK_OIDC_EMAIL', 'MOCK_OIDC_EMPLOYMENT_TYPE', 'MOCK_OIDC_DEPARTMENT'],
  clients: ['MOCK_OIDC_CLIENT_ID', 'MOCK_OIDC_CLIENT_SECRET'],
} as const;

/**
 * Every setting of the mock IdP: LiteLLM's `MOCK_OIDC_*` variables and our own. This table reads
 * them, writes `--help` and the README's table (mock-idp/README.md).
 * @internal
 */
export const MOCK_IDP_SETTINGS = {
  host: textSetting({
    variable: 'MOCK_IDP_HOST',
    flag: '--host <host>',
    default: DEFAULT_HOST,
    meaning: 'address to listen on',
  }),
  port: portSetting({
    variable: 'MOCK_OIDC_PORT',
    flag: '--port <port>',
    default: DEFAULT_PORT,
    meaning: 'port; `0` = any free port',
  }),
  issuer: urlSetting({
    variable: 'MOCK_IDP_ISSUER',
    flag: '--issuer <url>',
    shownDefault: '`http://{host}:{bound port}`',
    meaning: 'issuer URL, without a path',
  }),
  users: textSetting({
    variable: 'MOCK_IDP_USERS',
    flag: '--users <file>',
    shownDefault: 'built-in cast',
    meaning: 'users (and clients) file, YAML or JSON',
  }),
  autoLogin: textSetting({
    variable: 'MOCK_IDP_AUTO_LOGIN',
    flag: '--auto-login <user>',
    shownDefault: 'off',
    meaning: 'sign every authorization in as this user, no page',
  }),
  idTokenClaims: booleanSetting({
    variable: 'MOCK_IDP_ID_TOKEN_CLAIMS',
    flag: '--id-token-claims',
    default: false,
    meaning: "also put the user's scope claims in id_tokens",
  }),
  keyCache: textSetting({
    variable: 'MOCK_IDP_KEY_CACHE',
    flag: '--key-cache <folder>',
    shownDefault: '`$XDG_CACHE_HOME/cli-sso-harness/mock-idp` (`~/.cache/...`)',
    meaning:
      "private folder where the next start's signing keys are made ahead of time (each used once); `off`: make them at start",
  }),
  logLevel: choiceSetting({
    variable: 'MOCK_IDP_LOG_LEVEL',
    flag: '--log-level <level>',
    choices: LOG_LEVELS,
    default: 'info',
    meaning: '`debug`, `info`, `warn` or `error`',
  }),
  controlToken: secretSetting({
    variable: 'MOCK_IDP_CONTROL_TOKEN',
    shownDefault: 'unset: loopback callers only',
    meaning: `control API token, at least ${MIN_CONTROL_TOKEN_LENGTH} characters (no flag: a command line shows in \`ps\`)`,
  }),
  clientId: textSetting({
    variable: 'MOCK_OIDC_CLIENT_ID',
    shownDefault: `\`${DEFAULT_CLIENT_ID}\``,
    meaning: 'default client id',
  }),
  clientSecret: secretSetting({
    variable: 'MOCK_OIDC_CLIENT_SECRET',
    shownDefault: `\`${DEFAULT_CLIENT_SECRET}\``,
    meaning: 'default client secret',
  }),
  sub: textSetting({
    variable: 'MOCK_OIDC_SUB',
    shownDefault: `\`${LITELLM_DEFAULT_USER.sub}\``,
    meaning: "default user's `sub`, `preferred_username` and username",
  }),
  email: textSetting({
    variable: 'MOCK_OIDC_EMAIL',
    shownDefault: `\`${LITELLM_DEFAULT_USER.email}\``,
    meaning: "default user's `email`",
  }),
  employmentType: textSetting({
    variable: 'MOCK_OIDC_EMPLOYMENT_TYPE',
    shownDefault: `\`${LITELLM_DEFAULT_USER.employmentType}\``,
    meaning: "default user's `employment_type`",
  }),
  department: textSetting({
    variable: 'MOCK_OIDC_DEPARTMENT',
    shownDefault: `\`${LITELLM_DEFAULT_USER.department}\``,
    meaning: "default user's `org_info.department`",
  }),
};

/**
 * The command's flags and environment (`MOCK_OIDC_*`, `MOCK_IDP_*`) read into options, every problem reported together.
 * @internal
 */
export async function loadMockIdpConfig(env: Env, flags: MockIdpFlags): Promise<MockIdpConfig> {
  const { values: s, reader } = readSettings(MOCK_IDP_SETTINGS, env, { ...flags });
  const extraProblems: ConfigProblem[] = [];
  const { host, port, users: usersFilePath, autoLogin, logLevel, controlToken, clientId, clientSecret } = s;
  const keyCache = keyCacheFolder(s.keyCache, env);
  if (keyCache === 'relative') {
    reader.problem(
      flags.keyCache !== undefined ? '--key-cache' : 'MOCK_IDP_KEY_CACHE',
      'must be an absolute folder path, or off',
      s.keyCache ?? '',
    );
  }
  const idTokenUserClaims = s.idTokenClaims;
  let issuer = s.issuer;
  // The endpoints are served at the root of the listener, so the issuer cannot carry a path.
  if (issuer !== undefined && !issuerHasNoPath(issuer)) {
    reader.problem(
      flags.issuer !== undefined ? '--issuer' : 'MOCK_IDP_ISSUER',
      'must have no path, query or fragment',
      issuer,
    );
    issuer = undefined;
  }
  const defaultUser: DefaultUserOverrides = {};
  if (s.sub !== undefined) defaultUser.sub = s.sub;
  if (s.email !== undefined) defaultUser.email = s.email;
  if (s.employmentType !== undefined) defaultUser.employmentType = s.employmentType;
  if (s.department !== undefined) defaultUser.department = s.department;
  // A guessable token would open the control API to anyone who can reach the port.
  if (controlToken !== undefined && controlToken.length < MIN_CONTROL_TOKEN_LENGTH) {
    reader.problem(
      'MOCK_IDP_CONTROL_TOKEN',
      `must be at least ${MIN_CONTROL_TOKEN_LENGTH} characters (e.g. openssl rand -hex 16)`,
      controlToken,
      true,
    );
  }

  let usersFile: UsersFile | undefined;
  if (usersFilePath !== undefined) {
    try {
      usersFile = await loadUsersFile(usersFilePath);
    } catch (error) {
      if (!(error instanceof UsersFileError)) throw error;
      for (const p of error.problems) {
        extraProblems.push({ variable: `${p.file}${p.path ? ` ${p.path}` : ''}`, rule: p.rule, value: p.value });
      }
    }
    const moot = [...BUILT_IN_ONLY.users, ...(usersFile?.clients ? BUILT_IN_ONLY.clients : [])];
    for (const name of moot) {
      const found = reader.raw(name);
      if (found) {
        reader.problem(
          name,
          'shapes only the built-in cast/default client; set it in the users file instead',
          found.value,
          name === 'MOCK_OIDC_CLIENT_SECRET',
        );
      }
    }
  }

  const users = usersFile?.users ?? builtInCast(defaultUser);
  // Checked only against users that were actually read (a broken users file is already a problem).
  const usersKnown = usersFilePath === undefined || usersFile !== undefined;
  if (autoLogin !== undefined && usersKnown && !users.some((u) => u.username === autoLogin)) {
    reader.problem(
      flags.autoLogin ? '--auto-login' : 'MOCK_IDP_AUTO_LOGIN',
      `must name a known user (${users.map((u) => u.username).join(', ')})`,
      autoLogin,
    );
  }
  try {
    reader.finish();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...extraProblems]);
    throw error;
  }
  if (extraProblems.length > 0) throw new ConfigError(extraProblems);

  const clients = usersFile?.clients ?? [
    defaultClient({
      ...(clientId !== undefined ? { clientId } : {}),
      ...(clientSecret !== undefined ? { clientSecret } : {}),
    }),
  ];
  const options: MockIdpOptions = {
    host,
    port,
    users,
    clients,
    idTokenUserClaims,
    ...(issuer !== undefined ? { issuer } : {}),
    ...(autoLogin !== undefined ? { autoLogin } : {}),
    ...(controlToken !== undefined ? { controlToken } : {}),
    ...(keyCache !== undefined && keyCache !== 'relative' ? { keyCache } : {}),
  };
  return { options, logLevel, ...(usersFilePath !== undefined ? { usersFile: usersFilePath } : {}) };
}

/**
 * The key cache folder: the one given, none for `off`, else the user's cache folder (XDG Base
 * Directory: `$XDG_CACHE_HOME`, else `$HOME/.cache`); none when there is no home to put it in.
 */
function keyCacheFolder(given: string | undefined, env: Env): string | undefined | 'relative' {
  if (given !== undefined) {
    if (given.toLowerCase() === 'off') return undefined;
    return isAbsolute(given) ? given : 'relative';
  }
  const xdg = env['XDG_CACHE_HOME'];
  const home = env['HOME'];
  const base = xdg && isAbsolute(xdg) ? xdg : home && isAbsolute(home) ? join(home, '.cache') : undefined;
  return base === undefined ? undefined : join(base, 'cli-sso-harness', 'mock-idp');
}

function issuerHasNoPath(issuer: string): boolean {
  const url = new URL(issuer);
  return (url.pathname === '/' || url.pathname === '') && url.search === '' && url.hash === '';
}
