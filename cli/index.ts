/**
 * Public API of the reference CLI. The harness runs the CLI as a child process (cli/main.ts); this
 * module is for tests and for tools that want the same pieces in-process.
 */

export { browserCommands, openBrowser } from './browser-opener.ts';
export type { CommandContext } from './command-context.ts';
export { CliError, describeFailure, EXIT_CODE_TABLE, EXIT_CODES, type ExitKind } from './exit-codes.ts';
export {
  GatewayClient,
  GatewayHttpError,
  GatewayTimeoutError,
  GatewayUnreachableError,
  isTransient,
  type Model,
} from './gateway-client.ts';
export { expiryOf, isExpired, readKeyClaims } from './key-expiry.ts';
export { type CliRuntime, PROGRAM_NAME, runCli } from './program.ts';
export { CLI_SETTINGS, DEFAULT_BASE_URL, resolveSettings } from './settings.ts';
export { type CliLogin, defaultTokenFilePath, type PkceGrant, TokenStore } from './token-store.ts';
