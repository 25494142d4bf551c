/**
 * The command line of `cli-sso`: commander parses here and nowhere else (architecture.md,
 * convention 4); the commands in cli/commands/ act. Failures are turned into an exit code and a
 * message once, by describeFailure() (cli/exit-codes.ts).
 */

import type { ChildProcess } from 'node:child_process';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type Clock, systemClock } from '../common/clock.ts';
import type { Env } from '../common/config.ts';
import { addSettingFlags, settingsHelp } from '../common/settings.ts';
import { redactSecrets } from '../protocol/redact.ts';
import type { CommandContext } from './command-context.ts';
import { DEFAULT_LOGIN_TIMEOUT_SECONDS, login } from './commands/login.ts';
import { loginPreferringPkce, loginWithPkce } from './commands/login-pkce.ts';
import { logout } from './commands/logout.ts';
import { listModels, MODELS_FORMATS, type ModelsFormat } from './commands/models-list.ts';
import { printToken } from './commands/token.ts';
import { whoami } from './commands/whoami.ts';
import { describeFailure, EXIT_CODES, exitCodeHelp } from './exit-codes.ts';
import { CLI_SETTINGS, type GlobalFlags, resolveSettings } from './settings.ts';
import { isTerminal, terminalSafe, terminalSafeStream } from './terminal-safe.ts';
import { TokenStore } from './token-store.ts';

export const PROGRAM_NAME = 'cli-sso';
/** `models list` gives up on an unanswered gateway after this long. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;

/** Everything the CLI gets from its process; main.ts fills it in, tests pass their own. */
export interface CliRuntime {
  /** Arguments after the program name. */
  argv: readonly string[];
  env: Env;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  platform: NodeJS.Platform;
  clock?: Clock;
  openWithPlatform?: (url: string) => Promise<ChildProcess>;
}

function parseSeconds(value: string): number {
  if (!/^[0-9]+$/.test(value.trim()) || Number(value) < 1 || Number(value) > 86_400) {
    throw new InvalidArgumentError('must be a whole number of seconds from 1 to 86400.');
  }
  return Number(value);
}

function parseTeam(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty.');
  return value.trim();
}

export function buildProgram(
  runtime: CliRuntime,
  run: (action: (ctx: CommandContext) => Promise<number>, command: Command) => Promise<void>,
): Command {
  const program = new Command(PROGRAM_NAME)
    .description('Log in to a LiteLLM-style gateway with your company SSO and use the key it issues.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => runtime.stdout.write(text),
      writeErr: (text) => runtime.stderr.write(text),
    })
    .showHelpAfterError(`(run \`${PROGRAM_NAME} --help\` for usage)`);
  addSettingFlags(program, CLI_SETTINGS).addHelpText('after', `\n${settingsHelp(CLI_SETTINGS)}${exitCodeHelp()}`);

  program
    .command('login')
    .description(
      'log in through the browser and store the key: with the PKCE login when the gateway advertises it, else with the classic one',
    )
    .option('--no-browser', 'only print the URL and the code; do not open a browser')
    .option('--timeout <seconds>', 'give up after this long', parseSeconds, DEFAULT_LOGIN_TIMEOUT_SECONDS)
    .option(
      '--team <id>',
      'the team to log in for, when you belong to several (implies --classic: the PKCE login asks on its consent page)',
    )
    .addOption(
      new Option(
        '--pkce',
        "use the gateway's PKCE-native login (OAuth with a loopback redirect; the key is renewed and revoked); fail if the gateway does not offer it",
      ).conflicts('classic'),
    )
    .option(
      '--classic',
      'use the classic login (a code confirmed in the browser) even when the gateway advertises the PKCE one',
    )
    .addHelpText(
      'after',
      `
Which login: without --pkce or --classic, ${PROGRAM_NAME} asks the gateway for its PKCE login
(GET /.well-known/litellm-cli-auth) and uses it when the document is valid for this gateway.
A 404 means the gateway has none: the classic login follows without a word. Any other answer
(a 5xx, no answer in time, a document that is malformed or points to another server) is not followed:
a warning says why, and the classic login follows. --team asks for the classic login.
`,
    )
    .action(
      async (
        opts: { browser: boolean; timeout: number; team?: string; pkce?: boolean; classic?: boolean },
        command: Command,
      ) => {
        const team = opts.team === undefined ? undefined : parseTeam(opts.team);
        if (opts.pkce === true && team !== undefined) {
          command.error(
            "error: option '--team <id>' cannot be used with '--pkce': the team is chosen on the consent page",
            {
              exitCode: EXIT_CODES.usage,
            },
          );
        }
        const pkceOptions = { browser: opts.browser, timeoutSeconds: opts.timeout };
        const classic = (ctx: CommandContext) =>
          login(ctx, { browser: opts.browser, timeoutSeconds: opts.timeout, team });
        await run((ctx) => {
          if (opts.pkce === true) return loginWithPkce(ctx, pkceOptions);
          // The team is chosen in the classic poll; the PKCE login would ask for it again on its consent page.
          if (opts.classic === true || team !== undefined) return classic(ctx);
          return loginPreferringPkce(ctx, pkceOptions, () => classic(ctx));
        }, command);
      },
    );

  program
    .command('whoami')
    .description('show the stored login: gateway, user, team, age and exact expiry (offline)')
    .option('--json', 'print a JSON document instead of text')
    .option('--verify', 'also ask the gateway whether it still accepts the key')
    .action(async (opts: { json?: boolean; verify?: boolean }, command: Command) => {
      await run((ctx) => whoami(ctx, { json: opts.json === true, verify: opts.verify === true }), command);
    });

  const models = program.command('models').description('models the gateway offers you');
  models
    .command('list')
    .description('list the models your key may use (GET /models)')
    .addOption(new Option('--format <format>', 'output format').choices(MODELS_FORMATS).default('table'))
    .option('--timeout <seconds>', 'give up after this long', parseSeconds, DEFAULT_REQUEST_TIMEOUT_SECONDS)
    .action(async (opts: { format: ModelsFormat; timeout: number }, command: Command) => {
      await run((ctx) => listModels(ctx, { format: opts.format, timeoutSeconds: opts.timeout }), command);
    });

  program
    .command('token')
    .description('print the stored key alone on stdout, for scripts')
    .action(async (_opts: unknown, command: Command) => {
      await run((ctx) => printToken(ctx), command);
    });

  program
    .command('logout')
    .description('remove the stored login')
    .action(async (_opts: unknown, command: Command) => {
      await run((ctx) => logout(ctx), command);
    });

  return program;
}

/** Run one command line; resolves to the exit code. Never throws, never prints a stack trace. */
export async function runCli(runtime: CliRuntime): Promise<number> {
  let exitCode: number = EXIT_CODES.ok;
  // Shared with the failure lines printed below, so an error message cannot show a secret either.
  const secrets = new Set<string>();
  const run = async (action: (ctx: CommandContext) => Promise<number>, command: Command) => {
    const flags = command.optsWithGlobals<GlobalFlags>();
    const settings = resolveSettings(
      { baseUrl: flags.baseUrl, apiKey: flags.apiKey, tokenFile: flags.tokenFile },
      runtime.env,
    );
    if (settings.apiKey !== undefined) secrets.add(settings.apiKey);
    const ctx: CommandContext = {
      settings,
      secrets,
      store: new TokenStore(settings.tokenFilePath, settings.tokenFileIsDefault),
      env: runtime.env,
      stdin: runtime.stdin,
      stdout: terminalSafeStream(runtime.stdout, isTerminal(runtime.stdout), secrets),
      stderr: terminalSafeStream(runtime.stderr, runtime.stderrIsTTY, secrets),
      interactive: runtime.stdinIsTTY && runtime.stderrIsTTY,
      stderrIsTTY: runtime.stderrIsTTY,
      signal: runtime.signal,
      clock: runtime.clock ?? systemClock,
      platform: runtime.platform,
      ...(runtime.openWithPlatform ? { openWithPlatform: runtime.openWithPlatform } : {}),
    };
    exitCode = await action(ctx);
  };
  const program = buildProgram(runtime, run);
  try {
    await program.parseAsync([...runtime.argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are successes; everything else commander rejects is a usage error
      // (it has already printed what was wrong).
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
        ? EXIT_CODES.ok
        : EXIT_CODES.usage;
    }
    const failure = describeFailure(error);
    for (const line of failure.lines) {
      runtime.stderr.write(`${terminalSafe(redactSecrets(line, secrets), runtime.stderrIsTTY)}\n`);
    }
    return failure.code;
  }
}
