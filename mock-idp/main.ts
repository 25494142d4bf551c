/**
 * `npm run mock-idp` / `npx mock-idp` / `node --import tsx mock-idp/main.ts`: the mock IdP in the
 * foreground. The only file of the mock that touches `process` (architecture.md, convention 3).
 * Exit codes: 0 stopped by a signal, 1 could not start (e.g. port in use), 2 configuration error.
 */
import { Command } from 'commander';
import { ConfigError } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { startBanner } from './banner.ts';
import { loadMockIdpConfig, type MockIdpConfig, type MockIdpFlags } from './config.ts';
import { startMockIdp } from './mock-idp.ts';
import { usersFileJsonSchema } from './users-file.ts';

const program = new Command()
  .name('mock-idp')
  .description("A mock OpenID Connect provider: LiteLLM's local-testing IdP and the conformance suite's IdP.")
  .option('--host <host>', 'address to listen on (env MOCK_IDP_HOST, default 127.0.0.1)')
  .option('--port <port>', 'port, 0 = any free port (env MOCK_OIDC_PORT, default 8765)')
  .option('--issuer <url>', 'issuer URL (env MOCK_IDP_ISSUER, default http://{host}:{bound port})')
  .option('--users <file>', 'users (and clients) file, YAML or JSON (env MOCK_IDP_USERS, default: built-in cast)')
  .option('--auto-login <user>', 'sign every authorization in as this user, no page (env MOCK_IDP_AUTO_LOGIN)')
  .option('--id-token-claims', "also put the user's claims in id_tokens (env MOCK_IDP_ID_TOKEN_CLAIMS=true)")
  .option('--log-level <level>', 'debug, info, warn or error (env MOCK_IDP_LOG_LEVEL, default info)')
  .option('--print-users-schema', "print the users file's JSON Schema and exit")
  .addHelpText(
    'after',
    '\nThe control API token (at least 16 characters) is read only from MOCK_IDP_CONTROL_TOKEN (a flag would show in `ps`).\nSee mock-idp/README.md.',
  )
  .showHelpAfterError();

program.parse(process.argv);
const flags: MockIdpFlags & { printUsersSchema?: boolean } = program.opts();

if (flags.printUsersSchema) {
  process.stdout.write(`${JSON.stringify(usersFileJsonSchema(), null, 2)}\n`);
  process.exit(0);
}

let config: MockIdpConfig;
try {
  config = await loadMockIdpConfig(process.env, flags);
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
  process.stdout.write(startBanner(idp, { autoLogin: config.options.autoLogin, usersFile: config.usersFile }));
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
