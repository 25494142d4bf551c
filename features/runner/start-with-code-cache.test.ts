/**
 * start-with-code-cache.cjs with real processes: what the bundle sees, when the cache is written
 * and reused, what happens when the bundle changes, and where a stack trace points.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

let dir = '';
let launcher = '';
let bundle = '';
let cacheFile = '';

/** Bundle `source` (TypeScript) the way build-run.ts bundles the embedded targets. */
async function bundleSource(source: string): Promise<void> {
  await writeFile(join(dir, 'entry.ts'), source);
  await build({
    entryPoints: [join(dir, 'entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    sourcemap: 'linked',
    outfile: bundle,
    logLevel: 'warning',
  });
}

function start(...args: string[]) {
  // From the project, so that the launcher finds source-map-support as it does in a run.
  return spawnSync(process.execPath, [launcher, bundle, ...args], { cwd: ROOT, encoding: 'utf8' });
}

before(async () => {
  // Under the project like a run's bundle, so that require() finds the project's packages.
  // (.tmp does not exist yet in a fresh clone.)
  await mkdir(join(ROOT, '.tmp'), { recursive: true });
  dir = await mkdtemp(join(ROOT, '.tmp', 'code-cache-test-'));
  launcher = join(dir, 'start-with-code-cache.cjs');
  bundle = join(dir, 'entry.cjs');
  cacheFile = `${bundle}.v8-code-cache`;
  await copyFile(join(HERE, 'start-with-code-cache.cjs'), launcher);
});

after(() => rm(dir, { recursive: true, force: true }));

test('the bundle runs as `node <bundle> args`, and its exit code is the process exit code', async () => {
  await bundleSource(
    'console.log(JSON.stringify({ argv: process.argv.slice(1), file: __filename })); process.exitCode = 3;\n',
  );
  const run = start('--port', '0');
  assert.equal(run.status, 3, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { argv: [bundle, '--port', '0'], file: bundle });
});

test('the first process writes the cache as it exits; the next ones reuse it; a changed bundle gets a new one', async () => {
  await bundleSource(
    'export function greet(name: string): string { return "hello " + name; }\nconsole.log(greet("a"));\n',
  );
  await rm(cacheFile, { force: true });
  assert.equal(start().stdout, 'hello a\n');
  const first = await stat(cacheFile);
  const firstBytes = await readFile(cacheFile);
  assert.ok(first.size > 0);

  // V8 accepted the cache: nothing is written again.
  assert.equal(start().stdout, 'hello a\n');
  assert.deepEqual(await readFile(cacheFile), firstBytes);
  assert.equal((await stat(cacheFile)).mtimeMs, first.mtimeMs);

  // Another bundle under the same name: V8 refuses the old cache, the file runs as usual and the
  // cache is written for the new source.
  await bundleSource(
    'export function greet(name: string): string { return "good morning, " + name; }\nconsole.log(greet("b"));\n',
  );
  assert.equal(start().stdout, 'good morning, b\n');
  assert.notDeepEqual(await readFile(cacheFile), firstBytes);
});

test('a stack trace names the TypeScript file and line, cache or not', async () => {
  await bundleSource('function fail(): never {\n  throw new Error("boom");\n}\nfail();\n');
  await rm(cacheFile, { force: true });
  for (const attempt of ['without a cache', 'with the cache']) {
    const run = start();
    assert.equal(run.status, 1, attempt);
    assert.match(run.stderr, /Error: boom/, attempt);
    assert.match(run.stderr, /at fail \(.*entry\.ts:2:\d+\)/, `${attempt}:\n${run.stderr}`);
  }
});

test('source-map-support is loaded only once a stack is formatted', async () => {
  await bundleSource(
    [
      'const loaded = () => Object.keys(require.cache).some((file) => file.includes("source-map-support"));',
      'const before = loaded();',
      'const error = new Error("not formatted yet");',
      'const stillBefore = loaded();',
      'const mapped = /entry\\.ts:3:/.test(error.stack ?? "");',
      'console.log(JSON.stringify({ before, stillBefore, after: loaded(), mapped }));',
    ].join('\n'),
  );
  const run = start();
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { before: false, stillBefore: false, after: true, mapped: true });
});

test('without a bundle argument: usage on stderr, exit 2', () => {
  const run = spawnSync(process.execPath, [launcher], { encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /usage: node start-with-code-cache\.cjs <bundle\.cjs>/);
});

test('a cache that cannot be written does not fail the process', async () => {
  await bundleSource('console.log("still fine");\n');
  await rm(cacheFile, { force: true });
  // A directory where the cache file would go: reading and writing it fail, the output and the
  // exit code stand, and no partial file is left beside it.
  await mkdir(cacheFile);
  const run = start();
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'still fine\n');
  assert.equal(run.stderr, '');
  await rm(cacheFile, { recursive: true, force: true });
  assert.deepEqual(
    (await readdir(dir)).filter((name) => name.includes('.v8-code-cache.')),
    [],
  );
});
