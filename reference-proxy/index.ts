/**
 * The reference gateway in process: read its configuration from LiteLLM's variables (every
 * problem reported together) and start it, on a free port for tests. It implements the whole CLI
 * SSO contract of docs/contract.md. The guide with a complete test (a CLI login without a browser,
 * against the mock IdP) is docs/library.md; the variables and endpoints are in
 * reference-proxy/README.md.
 *
 * @example
 * ```ts
 * import { startMockIdp } from 'cli-sso-harness/mock-idp';
 * import { loadProxyConfig, startReferenceProxy } from 'cli-sso-harness/reference-proxy';
 *
 * const idp = await startMockIdp({ autoLogin: 'alice' });
 * const config = loadProxyConfig({
 *   ...idp.gatewayEnv(),
 *   LITELLM_MASTER_KEY: `sk-${randomBytes(32).toString('hex')}`,
 *   EXPERIMENTAL_UI_LOGIN: 'true',
 *   REFERENCE_PROXY_SQLITE_PATH: ':memory:',
 * });
 * const gateway = await startReferenceProxy(config, { port: 0 });
 * // ... POST `${gateway.url}/sso/cli/start` ...
 * await gateway.close();
 * await idp.close();
 * ```
 *
 * @packageDocumentation
 */

// What the options above take, from the shared plumbing, so a caller needs no other import.
export { type Clock, ManualClock } from '../common/clock.ts';
export type { ConfigProblem, Env } from '../common/config.ts';
export type { LogSink } from '../common/logger.ts';
export type { AdmissionSettings } from './admission.ts';
export {
  ConfigError,
  type IdentityAttributes,
  type IdpSettings,
  loadProxyConfig,
  PROXY_SETTINGS,
  type ProxyConfig,
  type ProxyFlags,
} from './config.ts';
export { CLI_KEY_ISSUER, CLI_KEY_PURPOSE, deriveSigningKey } from './key-issuer.ts';
export type { ModelEntry, ModelsFile, TeamEntry } from './models-file.ts';
export { type RunningProxy, type StartOptions, startReferenceProxy } from './proxy.ts';
