/**
 * The reference proxy's public API: load its configuration (every problem together) and start it.
 * Tests of other components and the harness use only this file.
 */
export {
  ConfigError,
  loadProxyConfig,
  PROXY_SETTINGS,
  type ProxyConfig,
  type ProxyFlags,
} from './config.ts';
export { CLI_KEY_ISSUER, CLI_KEY_PURPOSE, deriveSigningKey } from './key-issuer.ts';
export { type RunningProxy, type StartOptions, startReferenceProxy } from './proxy.ts';
