/**
 * `cli-sso-harness` (npx cli-sso-harness dev): a developer's tools around the harness.
 *
 *   dev   the mock IdP and the reference gateway in this process with LiteLLM's mock defaults,
 *         the login commands to type, and a line per step of each login as it happens; Ctrl-C
 *         (or SIGTERM) stops both.
 *
 * Exit codes: 0 stopped by Ctrl-C / SIGTERM, 1 could not start (a port is taken), 2 usage or
 * configuration error (every problem named together).
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../../common/config.ts';
import {
  DEFAULT_CLAIM_MAP,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_IDP_PORT,
  type DevStack,
  PortTakenError,
  startDevStack,
} from './dev-stack.ts';

function portNumber(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535) {
    throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port)');
  }
  return Number(value);
}

const program = new Command('cli-sso-harness')
  .description("The CLI SSO harness's developer tools")
  .showHelpAfterError()
  // Commander ends a mistyped command line with 1; here 2 is a usage error (help stays 0).
  .exitOverride((error) => {
    process.exit(error.exitCode === 1 ? 2 : error.exitCode);
  });

program
  .command('dev')
  .description(
    "start the mock IdP and the reference gateway with LiteLLM's mock defaults, print the login commands and show each login as it happens",
  )
  .option('--idp-port <port>', "the mock IdP's port", portNumber, DEFAULT_IDP_PORT)
  .option('--gateway-port <port>', "the reference gateway's port", portNumber, DEFAULT_GATEWAY_PORT)
  .option('--host <host>', 'the interface both listen on', '127.0.0.1')
  .option('--users <file>', "the mock IdP's users (and clients) file, YAML or JSON (default: its built-in cast)")
  .option('--auto-login <user>', 'sign every login in as this user, without the sign-in page')
  .option('--claim-map <map>', `the gateway's CLI_SSO_CLAIM_MAP (default: ${DEFAULT_CLAIM_MAP})`)
  .option('--config <file>', 'a LiteLLM config.yaml with the models (default: gpt-4o-mini and claude-3-haiku)')
  .option('--verbose', "also print both servers' JSON log lines (secrets redacted) on stderr")
  .addHelpText(
    'after',
    '\nThe gateway also reads its own variables from this shell (LITELLM_MASTER_KEY, LITELLM_CLI_JWT_EXPIRATION_HOURS, ...;\n' +
      'see `npx reference-proxy --help`), and the mock IdP its own (MOCK_OIDC_EMAIL, ...). The flags win.\n' +
      'Exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 could not start (a port is taken), 2 usage or configuration error.',
  )
  .action(
    async (flags: {
      idpPort: number;
      gatewayPort: number;
      host: string;
      users?: string;
      autoLogin?: string;
      claimMap?: string;
      config?: string;
      verbose?: boolean;
    }) => {
      const say = (line: string) => process.stdout.write(`${line}\n`);
      let stack: DevStack;
      try {
        stack = await startDevStack({
          host: flags.host,
          idpPort: flags.idpPort,
          gatewayPort: flags.gatewayPort,
          usersFile: flags.users,
          autoLogin: flags.autoLogin,
          claimMap: flags.claimMap,
          configFile: flags.config,
          env: process.env,
          cwd: process.cwd(),
          ...(flags.verbose ? { rawLog: (line: string) => process.stderr.write(line) } : {}),
          print: say,
        });
      } catch (error) {
        if (error instanceof PortTakenError) {
          process.stderr.write(`cli-sso-harness dev: ${error.message}\n`);
          process.exitCode = 1;
          return;
        }
        if (error instanceof ConfigError) {
          process.stderr.write(`cli-sso-harness dev: ${error.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw error;
      }
      for (const line of stack.banner) say(line);
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          // A second Ctrl-C while stopping: do not wait any longer.
          process.exit(130);
        }
        stopping = true;
        say(`stopping (${signal}): the gateway and the mock IdP`);
        stack.close().then(
          () => {
            say('stopped');
            process.exit(0);
          },
          (error: unknown) => {
            process.stderr.write(`cli-sso-harness dev: stopping failed: ${String(error)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
  );

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`cli-sso-harness: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
