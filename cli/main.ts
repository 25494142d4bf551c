/**
 * Process entry of the reference CLI: `node --import tsx cli/main.ts <command>` (or `npm run cli --`).
 * The only file that touches `process`: argv, env, streams, TTY facts, signals and the exit code.
 */
import { runCli } from './program.ts';

const interrupted = new AbortController();
let interrupts = 0;
const onSignal = (exitCode: number) => () => {
  interrupts += 1;
  // First Ctrl-C: cancel cleanly (the login stops polling, the spinner is cleared). Second: leave now.
  if (interrupts > 1) process.exit(exitCode);
  interrupted.abort();
};
// A reader that stops early (`cli-sso --help | head -1`) closes the pipe under us: end quietly, as
// other command-line tools do, rather than crash on the write that fails with EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}
process.on('SIGINT', onSignal(130));
process.on('SIGTERM', onSignal(143));

// No top-level await: the conformance harness runs this file bundled as CommonJS (with a V8 code
// cache, features/runner/start-with-code-cache.cjs), where top-level await does not exist. An error
// runCli did not turn into an exit code still ends the process as an unhandled rejection.
runCli({
  argv: process.argv.slice(2),
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTTY: process.stdin.isTTY === true,
  // A pseudo-terminal that reports 0 columns (`script` without a terminal, some CI runners) would
  // make ora's line arithmetic divide by zero and spin forever: such a stream gets plain lines.
  stderrIsTTY: process.stderr.isTTY === true && process.stderr.columns > 0,
  signal: interrupted.signal,
  platform: process.platform,
}).then((code) => {
  process.exitCode = code;
  // A detached browser and unref'd timers do not hold the process; stdin would if a prompt opened it.
  process.stdin.unref?.();
});
