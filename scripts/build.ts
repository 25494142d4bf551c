/**
 * `npm run build` (also run by `npm pack` / `npm publish` through prepack): the installable package's
 * dist/, a mirror of the repository's layout in plain JavaScript, so that every path the code finds
 * beside itself (import.meta.url, the harness's root folder) holds there as it does in a checkout:
 *
 *   1. tsc -p tsconfig.build.json: the .js and .d.ts of protocol/, common/, the three components,
 *      features/ and scripts/dev/ (their `./x.ts` imports rewritten to `./x.js`), no tests;
 *   2. the files the code reads at run time, copied to the same place under dist/: the features and
 *      the requirement catalogue, the contract the reports link to, the browser catcher, the
 *      libfaketime fix's C source, the code-cache launcher, the users file's JSON Schema and example.
 *
 * In a checkout nothing runs from dist/ (npm start, npm test and bin/ run the TypeScript through
 * tsx); an installed package has only dist/ (package.json "files").
 */
import { spawnSync } from 'node:child_process';
import { cp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

/** Files read at run time, by path from the repository's root (a folder: every file in it). */
export const RUNTIME_ASSETS = [
  'features/requirements.yaml',
  'features/drivers/browser-catcher.sh',
  'features/drivers/clock/faketime-fix.c',
  'features/runner/start-with-code-cache.cjs',
  'docs/contract.md',
  'mock-idp/users-file.schema.json',
  'mock-idp/examples',
] as const;

async function featureFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await featureFiles(path)));
    else if (entry.name.endsWith('.feature')) found.push(relative(ROOT, path));
  }
  return found;
}

async function main(): Promise<void> {
  const started = Date.now();
  await rm(DIST, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (compiled.status !== 0) {
    process.stderr.write(`build: tsc -p tsconfig.build.json failed (exit ${compiled.status ?? compiled.signal})\n`);
    process.exit(1);
  }
  const assets = [...RUNTIME_ASSETS, ...(await featureFiles(join(ROOT, 'features')))];
  for (const asset of assets) {
    // cp keeps the mode: browser-catcher.sh stays executable.
    await cp(join(ROOT, asset), join(DIST, asset), { recursive: true, errorOnExist: false });
  }
  process.stdout.write(
    `build: dist/ written in ${((Date.now() - started) / 1000).toFixed(1)} s (${assets.length} run-time files copied)\n`,
  );
}

await main();
