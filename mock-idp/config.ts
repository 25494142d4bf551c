/**
 * The mock IdP's configuration, read once at the edge from flags and environment (architecture.md,
 * convention 1). A flag wins over its variable. Every problem is reported together.
 * LiteLLM's mock variables (`MOCK_OIDC_*`, protocol.md section 9) work unchanged.
 */
import { ConfigError, type Env, EnvReader, isHttpUrl } from '../common/config.ts';
import type { LogLevel } from '../common/logger.ts';
import { defaultClient } from './clients.ts';
import { DEFAULT_HOST, DEFAULT_PORT, type MockIdpOptions } from './mock-idp.ts';
import { builtInCast, type DefaultUserOverrides } from './users.ts';

/** What commander hands over; every value is still a raw string. */
export interface MockIdpFlags {
  host?: string;
  port?: string;
  issuer?: string;
  autoLogin?: string;
  idTokenClaims?: boolean;
  logLevel?: string;
}

export interface MockIdpConfig {
  options: MockIdpOptions;
  logLevel: LogLevel;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export function readMockIdpConfig(env: Env, flags: MockIdpFlags): MockIdpConfig {
  const reader = new EnvReader(env);
  const host = flags.host?.trim() || reader.string('MOCK_IDP_HOST', { default: DEFAULT_HOST });
  const port = flags.port !== undefined ? portFlag(reader, flags.port) : reader.port('MOCK_OIDC_PORT', DEFAULT_PORT);
  let issuer = reader.url('MOCK_IDP_ISSUER');
  if (flags.issuer !== undefined) {
    if (isHttpUrl(flags.issuer)) issuer = flags.issuer;
    else reader.problem('--issuer', 'must be an absolute http(s) URL', flags.issuer);
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
  const autoLogin = flags.autoLogin?.trim() || reader.string('MOCK_IDP_AUTO_LOGIN');
  const idTokenUserClaims = flags.idTokenClaims ?? reader.bool('MOCK_IDP_ID_TOKEN_CLAIMS', false);
  let logLevel = reader.oneOf('MOCK_IDP_LOG_LEVEL', LOG_LEVELS, 'info');
  if (flags.logLevel !== undefined) {
    const wanted = LOG_LEVELS.find((level) => level === flags.logLevel);
    if (wanted) logLevel = wanted;
    else reader.problem('--log-level', `must be one of ${LOG_LEVELS.join(', ')}`, flags.logLevel);
  }
  const users = builtInCast(defaultUser);
  if (autoLogin !== undefined && !users.some((u) => u.username === autoLogin)) {
    reader.problem(
      flags.autoLogin ? '--auto-login' : 'MOCK_IDP_AUTO_LOGIN',
      `must name a known user (${users.map((u) => u.username).join(', ')})`,
      autoLogin,
    );
  }
  reader.finish();

  const options: MockIdpOptions = {
    host,
    port,
    users,
    clients: [
      defaultClient({
        ...(clientId !== undefined ? { clientId } : {}),
        ...(clientSecret !== undefined ? { clientSecret } : {}),
      }),
    ],
    idTokenUserClaims,
    ...(issuer !== undefined ? { issuer } : {}),
    ...(autoLogin !== undefined ? { autoLogin } : {}),
  };
  return { options, logLevel };
}

function portFlag(reader: EnvReader, text: string): number {
  if (/^[0-9]+$/.test(text.trim()) && Number(text) <= 65535) return Number(text);
  reader.problem('--port', 'must be a port number from 0 to 65535', text);
  return DEFAULT_PORT;
}

export { ConfigError };
