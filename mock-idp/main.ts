/**
 * `npm run mock-idp` / `npx mock-idp` / `node --import tsx mock-idp/main.ts`: the mock IdP in the
 * foreground. The only file of the mock that touches `process` (architecture.md, convention 3).
 * Exit codes: 0 stopped by a signal, 1 could not start (e.g. port in use), 2 configuration error.
 */
import { Command } from 'commander';
import { ConfigError } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { addSettingFlags, settingsHelp } from '../common/settings.ts';
import { startBanner } from './banner.ts';
import { loadMockIdpConfig, MOCK_IDP_SETTINGS, type MockIdpConfig, type MockIdpFlags } from './config.ts';
import { startMockIdp } from './mock-idp.ts';
import { usersFileJsonSchema } from './users-file.ts';

const program = addSettingFlags(
  new Command()
    .name('mock-idp')
    .description("A mock OpenID Connect provider: LiteLLM's local-testing IdP and the conformance suite's IdP."),
  MOCK_IDP_SETTINGS,
)
  .option('--print-users-schema', "print the users file's JSON Schema and exit")
  .addHelpText('after', `\n${settingsHelp(MOCK_IDP_SETTINGS)}\nSee mock-idp/README.md.`)
  .showHelpAfterError();

// No top-level await: the command can then be bundled as CommonJS and run with a V8 code cache.
async function main(): Promise<void> {
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
}

// A rejection that is not a configuration or start-up error crashes the process with its stack, as it should.
void main();
