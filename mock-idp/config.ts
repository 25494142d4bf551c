/**
 * The mock IdP's configuration, read once at the edge from flags, environment and the users file
 * (architecture.md, convention 1). A flag wins over its variable. Every problem — variables, flags
 * and the users file — is reported together in one ConfigError. LiteLLM's mock variables
 * (`MOCK_OIDC_*`, docs/contract.md section 9) work unchanged.
 */
import { ConfigError, type ConfigProblem, type Env, EnvReader, isHttpUrl } from '../common/config.ts';
import type { LogLevel } from '../common/logger.ts';
import { defaultClient } from './clients.ts';
import { MIN_CONTROL_TOKEN_LENGTH } from './control-api.ts';
import { DEFAULT_HOST, DEFAULT_PORT, type MockIdpOptions } from './mock-idp.ts';
import { builtInCast, type DefaultUserOverrides } from './users.ts';
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
 * The command's flags and environment (`MOCK_OIDC_*`, `MOCK_IDP_*`) read into options, every problem reported together.
 * @internal
 */
export async function loadMockIdpConfig(env: Env, flags: MockIdpFlags): Promise<MockIdpConfig> {
  const reader = new EnvReader(env);
  const extraProblems: ConfigProblem[] = [];
  const host = flags.host?.trim() || reader.string('MOCK_IDP_HOST', { default: DEFAULT_HOST });
  const port = flags.port !== undefined ? portFlag(reader, flags.port) : reader.port('MOCK_OIDC_PORT', DEFAULT_PORT);
  let issuer = reader.url('MOCK_IDP_ISSUER');
  if (flags.issuer !== undefined) {
    if (isHttpUrl(flags.issuer)) issuer = flags.issuer;
    else reader.problem('--issuer', 'must be an absolute http(s) URL', flags.issuer);
  }
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
  const sub = reader.string('MOCK_OIDC_SUB');
  const email = reader.string('MOCK_OIDC_EMAIL');
  const employmentType = reader.string('MOCK_OIDC_EMPLOYMENT_TYPE');
  const department = reader.string('MOCK_OIDC_DEPARTMENT');
  if (sub !== undefined) defaultUser.sub = sub;
  if (email !== undefined) defaultUser.email = email;
  if (employmentType !== undefined) defaultUser.employmentType = employmentType;
  if (department !== undefined) defaultUser.department = department;
  const clientId = reader.string('MOCK_OIDC_CLIENT_ID');
  const clientSecret = reader.string('MOCK_OIDC_CLIENT_SECRET', { secret: true });
  const usersFilePath = flags.users?.trim() || reader.string('MOCK_IDP_USERS');
  const autoLogin = flags.autoLogin?.trim() || reader.string('MOCK_IDP_AUTO_LOGIN');
  const idTokenUserClaims = flags.idTokenClaims ?? reader.bool('MOCK_IDP_ID_TOKEN_CLAIMS', false);
  const controlToken = reader.string('MOCK_IDP_CONTROL_TOKEN', { secret: true });
  // A guessable token would open the control API to anyone who can reach the port.
  if (controlToken !== undefined && controlToken.length < MIN_CONTROL_TOKEN_LENGTH) {
    reader.problem(
      'MOCK_IDP_CONTROL_TOKEN',
      `must be at least ${MIN_CONTROL_TOKEN_LENGTH} characters (e.g. openssl rand -hex 16)`,
      controlToken,
      true,
    );
  }
  let logLevel = reader.oneOf('MOCK_IDP_LOG_LEVEL', LOG_LEVELS, 'info');
  if (flags.logLevel !== undefined) {
    const wanted = LOG_LEVELS.find((level) => level === flags.logLevel);
    if (wanted) logLevel = wanted;
    else reader.problem('--log-level', `must be one of ${LOG_LEVELS.join(', ')}`, flags.logLevel);
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
  };
  return { options, logLevel, ...(usersFilePath !== undefined ? { usersFile: usersFilePath } : {}) };
}

function issuerHasNoPath(issuer: string): boolean {
  const url = new URL(issuer);
  return (url.pathname === '/' || url.pathname === '') && url.search === '' && url.hash === '';
}

function portFlag(reader: EnvReader, text: string): number {
  if (/^[0-9]+$/.test(text.trim()) && Number(text) <= 65535) return Number(text);
  reader.problem('--port', 'must be a port number from 0 to 65535', text);
  return DEFAULT_PORT;
}
