/**
 * `npm run mock-idp` / `node --import tsx mock-idp/main.ts`: the mock IdP in the foreground.
 * The only file of the mock that touches `process` (architecture.md, convention 3).
 * Exit codes: 0 stopped by a signal, 1 could not start (e.g. port in use), 2 configuration error.
 */
import { Command } from 'commander';
import { ConfigError } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { startBanner } from './banner.ts';
import { type MockIdpFlags, readMockIdpConfig } from './config.ts';
import { startMockIdp } from './mock-idp.ts';

const program = new Command()
  .name('mock-idp')
  .description("A mock OpenID Connect provider: LiteLLM's local-testing IdP and the conformance suite's IdP.")
  .option('--host <host>', 'address to listen on (env MOCK_IDP_HOST, default 127.0.0.1)')
  .option('--port <port>', 'port, 0 = any free port (env MOCK_OIDC_PORT, default 8765)')
  .option('--issuer <url>', 'issuer URL (env MOCK_IDP_ISSUER, default http://{host}:{bound port})')
  .option('--auto-login <user>', 'sign every authorization in as this user, no page (env MOCK_IDP_AUTO_LOGIN)')
  .option('--id-token-claims', "also put the user's claims in id_tokens (env MOCK_IDP_ID_TOKEN_CLAIMS=true)")
  .option('--log-level <level>', 'debug, info, warn or error (env MOCK_IDP_LOG_LEVEL, default info)')
  .showHelpAfterError();

program.parse(process.argv);
const flags: MockIdpFlags = program.opts();

let config: ReturnType<typeof readMockIdpConfig>;
try {
  config = readMockIdpConfig(process.env, flags);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`mock-idp: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

const logger = createLogger({ sink: process.stderr, component: 'mock-idp', level: config.logLevel });
try {
  const idp = await startMockIdp({ ...config.options, logger });
  process.stdout.write(startBanner(idp, config.options.autoLogin));
  const stop = async (signal: string) => {
    logger.info('mock_idp.stopping', { signal });
    await idp.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`mock-idp: could not start: ${message}\n`);
  process.exit(1);
}
