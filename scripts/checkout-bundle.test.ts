/**
 * bin/command-bundle.mjs and bin/run-bundle.mjs on a small checkout of their own (a temp folder
 * with a cli/main.ts): an edit to any source takes effect at the next run, an unchanged checkout
 * runs its cached bundle, a source that does not compile gives no bundle (the wrapper then runs
 * tsx, which reports the error), and the bundle runs with a V8 code cache written beside it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkoutBundle } from '../bin/command-bundle.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let root: string;

before(async () => {
  await mkdir(join(ROOT, '.tmp'), { recursive: true });
  root = await mkdtemp(join(ROOT, '.tmp', 'checkout-bundle-'));
  await mkdir(join(root, 'cli'));
  await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
  await writeFile(join(root, 'tsconfig.json'), '{}\n');
  await writeFile(join(root, 'cli/main.ts'), "import { word } from './word.ts';\nprocess.stdout.write(word);\n");
  await writeFile(join(root, 'cli/word.ts'), "export const word: string = 'one';\n");
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The cached bundle, built when needed; settleMs 0: the edits below come right before a build. */
async function bundle(): Promise<URL> {
  const url = await checkoutBundle(root, 'cli/main', { settleMs: 0 });
  assert.ok(url, 'a bundle');
  return url;
}

/** What the bundle prints when run as the wrapper runs it (run-bundle.mjs, in its own process). */
function run(url: URL): string {
  const runner = pathToFileURL(join(ROOT, 'bin/run-bundle.mjs')).href;
  return execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { runBundle } from ${JSON.stringify(runner)}; runBundle(new URL(${JSON.stringify(url.href)}));`,
    ],
    { encoding: 'utf8' },
  );
}

const cacheDir = () => join(root, 'node_modules/.cache/cli-sso-harness');

test('an edit takes effect at the next run, even one that keeps the size of the file', async () => {
  assert.equal(run(await bundle()), 'one');
  await writeFile(join(root, 'cli/word.ts'), "export const word: string = 'two';\n");
  assert.equal(run(await bundle()), 'two');
});

test('a new module imported by an edit is bundled, and a removed one is no longer needed', async () => {
  await writeFile(join(root, 'cli/other.ts'), "export const other = 'three';\n");
  await writeFile(join(root, 'cli/main.ts'), "import { other } from './other.ts';\nprocess.stdout.write(other);\n");
  assert.equal(run(await bundle()), 'three');
  await rm(join(root, 'cli/word.ts'));
  assert.equal(run(await bundle()), 'three');
  await writeFile(join(root, 'cli/word.ts'), "export const word: string = 'two';\n");
  await writeFile(join(root, 'cli/main.ts'), "import { word } from './word.ts';\nprocess.stdout.write(word);\n");
  assert.equal(run(await bundle()), 'two');
});

test('an unchanged checkout runs its cached bundle: nothing is built again', async () => {
  let first = await bundle();
  const [dir] = await readdir(cacheDir());
  const manifest = join(cacheDir(), dir as string, 'cli-main.json');
  // A build right after an edit is not kept when the edit's timestamp is not yet below the build's
  // start (checkoutBundle's settleMs): the next one is.
  for (let tries = 0; !existsSync(manifest) && tries < 50; tries++) first = await bundle();
  assert.ok(existsSync(manifest), 'the manifest of a build');
  const written = (await stat(manifest)).mtimeMs;
  const again = await bundle();
  assert.equal(again.href, first.href);
  assert.equal((await stat(manifest)).mtimeMs, written, 'the manifest was not rewritten');
  assert.deepEqual(JSON.parse(await readFile(manifest, 'utf8')).bundle, fileURLToPath(first).split('/').pop());
});

test('a run leaves a V8 code cache beside the bundle, and the next run uses it', async () => {
  const url = await bundle();
  const cache = `${fileURLToPath(url)}.v8-code-cache`;
  await rm(cache, { force: true });
  assert.equal(run(url), 'two');
  assert.ok(existsSync(cache), 'the cache written as the first run exited');
  const written = (await stat(cache)).mtimeMs;
  assert.equal(run(url), 'two');
  assert.equal((await stat(cache)).mtimeMs, written, 'an accepted cache is not written again');
});

test('text that is not ASCII comes out as written (the bundle escapes it; the runner reads latin1)', async () => {
  await writeFile(join(root, 'cli/word.ts'), "// Grüße\nexport const word: string = 'Grüße, 東京 ✓';\n");
  assert.equal(run(await bundle()), 'Grüße, 東京 ✓');
  await writeFile(join(root, 'cli/word.ts'), "export const word: string = 'two';\n");
});

test('a source that does not compile gives no bundle; once fixed, it runs again', async () => {
  await writeFile(join(root, 'cli/word.ts'), "export const word: string = 'four\n");
  assert.equal(await checkoutBundle(root, 'cli/main', { settleMs: 0 }), undefined);
  await writeFile(join(root, 'cli/word.ts'), "export const word: string = 'four';\n");
  assert.equal(run(await bundle()), 'four');
});
