/**
 * `npm run build` (also run by `npm pack` / `npm publish` through prepack): the installable package's
 * dist/, a mirror of the repository's layout in plain JavaScript, so that every path the code finds
 * beside itself (import.meta.url, the harness's root folder) holds there as it does in a checkout:
 *
 *   1. tsc -p tsconfig.build.json: the .js and .d.ts of protocol/, common/, the three components,
 *      features/ and scripts/dev/ (their `./x.ts` imports rewritten to `./x.js`), no tests;
 *   2. the files the code reads at run time, copied to the same place under dist/: the features and
 *      the requirement catalogue, the contract the reports link to, the browser catcher, the
 *      libfaketime fix's C source, the code-cache launcher, the users file's JSON Schema and example;
 *   3. the CLI and the mock IdP each as one esbuild bundle, e.g. dist/cli/cli-main.<hash>.cjs
 *      (bin/command-bundle.mjs), and dist/cli/main.js replaced by a launcher that runs it with a V8
 *      code cache (bin/run-bundle.mjs): `cli-sso` and `mock-idp` then start without Node resolving
 *      and linking their hundreds of modules one by one, nor compiling them again at each run (the
 *      other files stay, with their declarations: the library imports them).
 *
 * In a checkout nothing runs from dist/ (npm start, npm test and bin/ run the TypeScript, through
 * tsx or a bundle of it); an installed package has only dist/ (package.json "files").
 */
import { spawnSync } from 'node:child_process';
import { cp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_COMMANDS, bundleCommand, copyExecutable } from '../bin/command-bundle.mjs';

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

/**
 * dist/<dir>/<name>.<hash>.cjs (and the files it needs beside it) for each command in
 * BUNDLED_COMMANDS; dist/<entry>.js (tsc's, unused) replaced by its launcher.
 */
async function bundleCommands(): Promise<void> {
  for (const entry of Object.keys(BUNDLED_COMMANDS) as (keyof typeof BUNDLED_COMMANDS)[]) {
    const { code, fileName, besides } = await bundleCommand(ROOT, entry);
    const dir = join(DIST, dirname(entry));
    await writeFile(join(dir, fileName), code);
    for (const { from, name } of besides) copyExecutable(from, join(dir, name));
    await writeFile(
      join(DIST, `${entry}.js`),
      [
        `// \`${entry}\` bundled into one file, run with a V8 code cache beside it (written by scripts/build.ts).`,
        `import { runBundle } from '${relative(dir, join(ROOT, 'bin/run-bundle.mjs')).replaceAll('\\', '/')}';`,
        '',
        '// Bundled again by esbuild (the conformance harness does so), this launcher finds no bundle beside',
        '// itself, and the import below, which esbuild has then put inside, runs the command instead.',
        `if (!runBundle(new URL(${JSON.stringify(`./${fileName}`)}, import.meta.url))) import(${JSON.stringify(`./${fileName}`)});`,
        '',
      ].join('\n'),
    );
  }
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
  await bundleCommands();
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
