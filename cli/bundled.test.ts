/**
 * The CLI as it starts for a user: one bundle compiled through node:vm with a V8 code cache
 * (bin/run-bundle.mjs), by bin/cli-sso.mjs in a checkout (its cached bundle) as by dist/cli/main.js
 * in the installed package. What only a bundle can get wrong: the packages loaded late with
 * import() (here `open`, for the browser), Node's modules loaded on demand (node:crypto when the key
 * is stored), the command line as the CLI sees it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanEnv, makeTempHome, REPO_ROOT, type TempHome } from './test-support/cli-process.ts';
import { type LiteLlmLikeGateway, startLiteLlmLikeGateway } from './test-support/litellm-like-gateway.ts';

const WRAPPER = join(REPO_ROOT, 'bin', 'cli-sso.mjs');

let gateway: LiteLlmLikeGateway;
let home: TempHome;

before(async () => {
  gateway = await startLiteLlmLikeGateway();
  home = await makeTempHome();
});

after(async () => {
  await gateway.close();
  await home.remove();
});

/** `node bin/cli-sso.mjs <args>`; `onStderr` sees stderr as it grows. */
function runWrapper(
  args: string[],
  env: Record<string, string>,
  onStderr: (stderr: string) => void = () => undefined,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [WRAPPER, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    onStderr(stderr);
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

test('--help: the bundle sees the command line as the CLI does', async () => {
  const result = await runWrapper(['--help'], cleanEnv(home.home));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Usage: cli-sso \[options\] \[command\]/);
});

test('a login that opens the browser through `open` (loaded late) and stores the key', async () => {
  let completed = false;
  // A graphical session and no BROWSER: the CLI asks the system through the `open` package.
  const env = cleanEnv(home.home, { DISPLAY: ':99' });
  const result = await runWrapper(['login', '--base-url', gateway.url], env, (stderr) => {
    const loginId = /^Session id: (\S+)$/m.exec(stderr)?.[1];
    if (loginId && !completed) {
      completed = true;
      gateway.complete(loginId);
    }
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /Opening the browser \(asked the system to open it\)\./);
  assert.match(result.stderr, /Logged in to http:\/\/127\.0\.0\.1:\d+ as cli-test-user\./);
  const stored = JSON.parse(await readFile(home.tokenFile, 'utf8')) as Record<string, unknown>;
  assert.equal(stored['user_id'], 'cli-test-user');
});
