/**
 * The broken gateway as a process (what the suite's `--gateway-cmd` starts): it serves only once the
 * gateway behind it answers, stops that child on SIGTERM, exits when the child dies, and refuses bad
 * configuration with exit code 2. A tiny node:http script stands in for the real gateway.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN = join(HERE, 'broken-gateway-main.ts');
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const DEADLINE_MS = 20_000;

let dir = '';
let standIn = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'broken-gateway-main-'));
  standIn = join(dir, 'stand-in-gateway.mjs');
  // Answers every request with the port it was given, so the test sees it went through.
  await writeFile(
    standIn,
    `import { createServer } from 'node:http';
const port = Number(process.argv[2]);
createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ path: req.url, base: process.env.PROXY_BASE_URL })); })
  .listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`,
  );
});
after(() => rm(dir, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startBrokenGateway(args: string[], env: Record<string, string> = {}): Started {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

/** Poll `check` until it returns a value or the deadline passes (no fixed sleeps). */
async function waitFor<T>(what: string, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function listeningLine(stderr: string): { url: string; upstreamPid: number } | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.includes('"listening"')) continue;
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null) continue;
    const url = 'url' in parsed ? parsed.url : undefined;
    const pid = 'upstream_pid' in parsed ? parsed.upstream_pid : undefined;
    if (typeof url === 'string' && typeof pid === 'number') return { url, upstreamPid: pid };
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function upstreamCommand(): string {
  return `"${process.execPath}" "${standIn}" {port}`;
}

test('relays to the gateway it started and stops that gateway on SIGTERM', async () => {
  const started = startBrokenGateway(['--break', 'none', '--port', '0', '--upstream-cmd', upstreamCommand()]);
  try {
    const { url, upstreamPid } = await waitFor('the listening line', () => listeningLine(started.stderr()));
    const response = await fetch(`${url}/health/liveliness`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { path: '/health/liveliness', base: url });
    assert.ok(isAlive(upstreamPid));
    started.child.kill('SIGTERM');
    assert.equal(await started.exited, 0);
    await waitFor('the gateway behind to stop', () => (isAlive(upstreamPid) ? undefined : true));
  } finally {
    started.child.kill('SIGKILL');
  }
});

test('exits with 1 when the gateway behind it dies', async () => {
  const started = startBrokenGateway(['--break', 'reusable-poll', '--port', '0', '--upstream-cmd', upstreamCommand()]);
  try {
    const { upstreamPid } = await waitFor('the listening line', () => listeningLine(started.stderr()));
    process.kill(upstreamPid, 'SIGKILL');
    assert.equal(await started.exited, 1);
    assert.match(started.stderr(), /upstream_exited/);
  } finally {
    started.child.kill('SIGKILL');
  }
});

test('refuses a bad PORT and an unknown variant with exit code 2', async () => {
  const badPort = startBrokenGateway(['--break', 'none'], { PORT: 'eighty' });
  assert.equal(await badPort.exited, 2);
  assert.match(badPort.stderr(), /PORT: must be a port number/);
  const unknown = startBrokenGateway(['--break', 'no-such-fault', '--port', '0']);
  assert.equal(await unknown.exited, 2);
  assert.match(unknown.stderr(), /no-such-fault/);
});
