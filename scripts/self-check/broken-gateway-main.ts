/**
 * `node --import tsx scripts/self-check/broken-gateway-main.ts --break <variant> --port {port} --config {config}`
 *
 * A broken gateway as one process, for the suite's `--gateway-cmd`: starts the real gateway (the
 * reference proxy unless --upstream-cmd says otherwise) as its child on a free loopback port, listens
 * on the port it was given and relays every request with the variant's one fault. It stops its child
 * on SIGTERM/SIGINT and exits when the child dies. Exit codes: 0 stopped by a signal, 1 the gateway
 * behind it failed, 2 usage or configuration error.
 */
import type { RequestListener } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, EnvReader } from '../../common/config.ts';
import { listen, type RunningServer } from '../../common/http-server.ts';
import { createLogger } from '../../common/logger.ts';
import { createBrokenGateway } from './broken-gateway.ts';
import { describeExit, launchUpstream, type RunningUpstream } from './upstream-gateway.ts';
import { findVariant, VARIANT_NAMES, VARIANTS } from './variants.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = fileURLToPath(import.meta.resolve('tsx'));

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return seconds;
}

function portNumber(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError('must be a port from 0 to 65535');
  return Number(value);
}

const program = new Command('broken-gateway')
  .description('A real gateway behind a relay that breaks exactly one rule of the CLI SSO protocol (self-check).')
  .addOption(new Option('--break <variant>', 'the rule to break').choices([...VARIANT_NAMES]).makeOptionMandatory())
  .option('--port <port>', 'port to listen on (default: $PORT, else 4000; 0 = any free port)', portNumber)
  .option('--host <host>', 'interface to listen on (default: $HOST, else 127.0.0.1)')
  .option('--config <file>', 'LiteLLM config.yaml, passed on to the gateway behind the relay')
  .option(
    '--upstream-cmd <command>',
    'the real gateway, a shell command with {port} and {config} (default: the reference proxy)',
  )
  .option('--upstream-start-timeout <seconds>', 'how long the gateway behind may take to answer', positiveSeconds, 30)
  .addHelpText(
    'after',
    `\nVariants:\n${VARIANTS.map((v) => `  ${v.name.padEnd(28)} breaks: ${v.rule}`).join('\n')}\n  ${'none'.padEnd(28)} breaks nothing (a transparent relay)\n\nExit codes: 0 stopped by a signal, 1 the gateway behind failed, 2 usage or configuration error.`,
  );

async function main(): Promise<void> {
  program.exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
  program.parse(process.argv);
  const flags = program.opts<{
    break: string;
    port?: number;
    host?: string;
    config?: string;
    upstreamCmd?: string;
    upstreamStartTimeout: number;
  }>();
  const variant = findVariant(flags.break);
  if (!variant) throw new InvalidArgumentError(`unknown variant ${flags.break}`);

  const reader = new EnvReader(process.env);
  const port = flags.port ?? reader.port('PORT', 4000);
  const host = flags.host ?? reader.string('HOST', { default: '127.0.0.1' });
  const publicBaseUrl = reader.url('PROXY_BASE_URL')?.replace(/\/+$/, '');
  reader.finish();

  const logger = createLogger({ sink: process.stderr, component: 'broken-gateway' });
  const gateway = createBrokenGateway({ variant, env: process.env, logger });

  // Listen at once (so port 0 is known before the gateway behind starts), but hold every request
  // until that gateway answers: the harness's readiness probe must not pass before it does.
  let handler: RequestListener = () => undefined;
  let release: () => void = () => undefined;
  const upstreamServing = new Promise<void>((resolveServing) => {
    release = resolveServing;
  });
  const server: RunningServer = await listen(
    (req, res) => {
      void upstreamServing.then(() => handler(req, res));
    },
    host,
    port,
  );
  const baseUrl = publicBaseUrl ?? server.url;

  const argv = flags.upstreamCmd
    ? ['/bin/sh', '-c', `exec ${flags.upstreamCmd}`]
    : [
        process.execPath,
        '--import',
        TSX,
        join(ROOT, 'reference-proxy/main.ts'),
        '--port',
        '{port}',
        ...(flags.config ? ['--config', '{config}'] : []),
      ];
  // Signals are handled before the child exists, so no moment leaves it running without us.
  let upstream: RunningUpstream | undefined;
  let stopping = false;
  const stop = async (exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await upstream?.stop();
    process.exit(exitCode);
  };
  process.once('SIGTERM', () => void stop(0));
  process.once('SIGINT', () => void stop(0));
  upstream = await launchUpstream({
    argv,
    env: { ...gateway.upstreamEnv, PROXY_BASE_URL: baseUrl },
    configFile: flags.config,
    startTimeoutMs: flags.upstreamStartTimeout * 1000,
  });
  const running = upstream;
  if (stopping) {
    await running.stop();
    return;
  }
  void running.exited.then((exit) => {
    if (stopping) return;
    logger.error('upstream_exited', { upstream: running.url, exit: describeExit(exit) });
    void stop(exit.code && exit.code !== 0 ? exit.code : 1);
  });

  try {
    await running.ready;
  } catch (error) {
    logger.error('upstream_not_ready', { error: error instanceof Error ? error.message : String(error) });
    await stop(1);
    return;
  }
  handler = gateway.handlerFor(running.url);
  release();
  logger.info('listening', {
    url: server.url,
    public_url: baseUrl,
    variant: variant.name,
    upstream: running.url,
    upstream_pid: running.pid,
  });
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`broken-gateway: ${message}\n`);
  process.exit(error instanceof ConfigError || error instanceof InvalidArgumentError ? 2 : 1);
});
