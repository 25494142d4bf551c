/**
 * `npm run reference-proxy` / `node --import tsx reference-proxy/main.ts`: the reference gateway in
 * the foreground. The only file here that touches `process` (architecture.md, convention 3).
 * Exit codes: 0 stopped by a signal, 1 could not start (e.g. port in use), 2 configuration error.
 */
import { Command } from 'commander';
import { addSettingFlags, settingsHelp } from '../common/settings.ts';
import { ConfigError, loadProxyConfig, PROXY_SETTINGS, startReferenceProxy } from './index.ts';
import { coalescingSink } from './log-sink.ts';

const program = addSettingFlags(
  new Command()
    .name('reference-proxy')
    .description(
      'LiteLLM-style gateway implementing the CLI SSO contract (docs/contract.md), for the conformance suite',
    ),
  PROXY_SETTINGS,
)
  .addHelpText('after', `\n${settingsHelp(PROXY_SETTINGS)}`)
  .showHelpAfterError();

program.parse(process.argv);
const flags = program.opts<{ host?: string; port?: string; config?: string }>();

let config: ReturnType<typeof loadProxyConfig>;
try {
  config = loadProxyConfig(process.env, flags, process.cwd());
} catch (error) {
  // mutation-equivalent: how a gateway that refuses its configuration says so (exit code, wording) is its own;
  // the contract only asks that it does not start
  if (error instanceof ConfigError) {
    process.stderr.write(`reference-proxy: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

// No top-level await: the conformance harness runs this file bundled as CommonJS (with a V8 code
// cache, features/runner/start-with-code-cache.cjs), where top-level await does not exist.
serve(config);

async function serve(config: ReturnType<typeof loadProxyConfig>): Promise<void> {
  // Lines logged in one turn of the event loop go to stderr in one write (log-sink.ts); what is pending
  // goes out before anything else written here and when the process exits, however it exits.
  const logSink = coalescingSink(process.stderr);
  process.on('exit', () => logSink.flush());
  try {
    const proxy = await startReferenceProxy(config, { logSink });
    // stdout is for data: the one line a script needs to find us.
    process.stdout.write(`${JSON.stringify({ event: 'listening', url: proxy.url })}\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logSink.flush();
      process.stderr.write(`${JSON.stringify({ event: 'stopping', signal })}\n`);
      proxy.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  } catch (error) {
    logSink.flush();
    process.stderr.write(
      `reference-proxy: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  }
}
