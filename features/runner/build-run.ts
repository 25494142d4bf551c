/**
 * What a run executes is bundled with esbuild and kept between runs under .tmp/build/ (cachedBuild:
 * rebuilt when a file it was made from changes); what is the run's own (its step time limit, the
 * shard plugin) goes into a folder of the run's (.tmp/build/run-*, removed after the run; runs may
 * overlap, as in the self-check):
 *
 * - **The harness's support code** (features/support and features/steps with the drivers, tasks,
 *   pages and the mock IdP they use): Cucumber loads it in the coordinating process and in every
 *   worker, and through tsx that meant transpiling ~80 TypeScript files and resolving a few hundred
 *   modules through tsx's loader thread, three times a run (measured: ~3 s of CPU per process and
 *   ~4.5 s before the first scenario could start). One plain JavaScript file loads in a fraction
 *   of that. @cucumber/cucumber stays outside (the support code must register with the very
 *   Cucumber that runs it) and so does playwright-core (already one bundle of its own).
 *   Source maps are on for it (source-maps-on.cjs, required first), so failures and Cucumber's
 *   step locations name the .ts files and lines.
 * - **The embedded default targets** (reference proxy and reference CLI), when the run uses them:
 *   each gateway start and each CLI run is then one file to load instead of many modules (measured:
 *   proxy 0.49 -> 0.43 s, `cli --help` 0.37 -> 0.26 s), started through start-with-code-cache.cjs so
 *   that V8 compiles each file once per run, not once per process (gateway start 0.45 -> 0.30 s of
 *   CPU). They are CommonJS because that is what node:vm compiles; code loaded only when configured
 *   (the Redis and PostgreSQL stores) stays lazy inside them. Native packages (better-sqlite3, pg's
 *   optional pg-native) and source-map-support are resolved from the project's node_modules, which
 *   is why the bundle lives under the project.
 *
 * In a checkout the bundles are built from the TypeScript; in the installed npm package, from the
 * compiled JavaScript in dist/ (which mirrors the repository's layout, scripts/build.ts).
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, version as esbuildVersion, type Metafile } from 'esbuild';
import { shellQuote } from '../drivers/child-process.ts';

export interface RunBuild {
  /** What Cucumber requires, in order: a module that turns source maps on, then the support code. */
  supportCode: string[];
  /** Shell command lines that start the embedded targets (arguments may follow), when built. */
  referenceProxyCommand: string | undefined;
  cliCommand: string | undefined;
  /** The Cucumber plugin that keeps a shard's share (shard-plugin.ts), when built. */
  shardPlugin: string | undefined;
  /** Remove this run's bundle. */
  dispose(): Promise<void>;
}

/**
 * The extension of this project's modules where this file runs: `.ts` in a checkout (through tsx),
 * `.js` in the installed package's dist/.
 */
const MODULE_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Folders of runs that ended without cleaning up (killed), and unused builds, are removed after this long. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;
/** A build replaced by a newer one is removed after this long unused. */
const SUPERSEDED_AFTER_MS = 60 * 60 * 1000;

/** Settings both bundles share: Node 20, packages inside, maps beside the code. */
const NODE_BUNDLE: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Maps beside the bundle, not inside it: an inline map is read at every start (+0.09 s) and only
  // helps a process that turns source maps on.
  sourcemap: 'linked',
  logLevel: 'warning',
  // The files a build read, to tell when it can be reused (cachedBuild).
  metafile: true,
};

/**
 * A CommonJS bundle has no import.meta: code that finds files beside itself (the CLI driver's
 * browser-catcher.sh, `open`'s xdg-open) does so from the bundle's own location.
 */
const IMPORT_META_URL: BuildOptions = {
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
};

export async function buildRun(
  rootDir: string,
  options: { embeddedTargets: boolean; stepTimeoutMs: number; shardPlugin?: boolean },
): Promise<RunBuild> {
  const parent = join(rootDir, '.tmp', 'build');
  await mkdir(parent, { recursive: true });
  await removeStaleBuilds(parent);
  const outdir = await mkdtemp(join(parent, 'run-'));
  const dispose = () => rm(outdir, { recursive: true, force: true });
  let harnessDir: string;
  let targetsDir: string | undefined;
  try {
    [harnessDir, targetsDir] = await Promise.all([
      buildHarness(rootDir, parent, outdir, options.stepTimeoutMs),
      options.embeddedTargets ? buildEmbeddedTargets(rootDir, parent) : undefined,
      options.shardPlugin ? buildShardPlugin(rootDir, outdir) : undefined,
    ]);
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    supportCode: [
      join(outdir, 'source-maps-on.cjs'),
      join(harnessDir, HARNESS_BUNDLE_FILE),
      join(outdir, 'step-timeout.cjs'),
    ],
    referenceProxyCommand: targetsDir ? startCommand(targetsDir, 'reference-proxy.cjs') : undefined,
    cliCommand: targetsDir ? startCommand(targetsDir, 'cli.cjs') : undefined,
    shardPlugin: options.shardPlugin ? join(outdir, SHARD_PLUGIN_FILE) : undefined,
    dispose,
  };
}

/**
 * The support code bundle's name does not end in `.cjs` (Node.js loads a file of an unknown extension
 * as CommonJS): the coordinating process runs under tsx, whose `require` hook rewrites every `.cjs`
 * file it loads for dynamic import() and generates a new source map for it. For this 4.5 MB bundle
 * that took 2.5-3 s of CPU before the first worker could start (measured: 4.1-4.4 s to load it with
 * source maps under tsx, 1.4-1.7 s as `.bundle`), and the rewritten file lost the bundle's own map,
 * so Cucumber's step locations named lines of the bundle instead of the .ts files.
 */
const HARNESS_BUNDLE_FILE = 'harness.bundle';

/** Builds (or finds in the cache) the support code bundle; returns the folder holding it. */
async function buildHarness(rootDir: string, parent: string, outdir: string, stepTimeoutMs: number): Promise<string> {
  const files: string[] = [];
  for (const folder of ['features/support', 'features/steps']) {
    for (const name of (await readdir(join(rootDir, folder))).sort()) {
      if (name.endsWith(MODULE_EXTENSION) && !name.endsWith(`.test${MODULE_EXTENSION}`))
        files.push(`./${folder}/${name}`);
    }
  }
  const catcher = 'features/drivers/browser-catcher.sh';
  const bundleDir = await cachedBuild(rootDir, parent, { name: 'harness', entries: files, copied: [catcher] }, (dir) =>
    bundleHarness(rootDir, dir, files, catcher),
  );
  // Required before the bundle, so that Node reads the bundle's source map as it loads it: failures
  // and Cucumber's step locations then name the .ts files and lines. (Turned on inside the bundle
  // it would be too late for the bundle itself.)
  await writeFile(join(outdir, 'source-maps-on.cjs'), 'process.setSourceMapsEnabled(true);\n');
  // Required after the support code: the run's step time limit (--step-timeout) replaces the default
  // that features/support/hooks.ts sets. Cucumber takes the last one given while the code loads.
  await writeFile(
    join(outdir, 'step-timeout.cjs'),
    `require('@cucumber/cucumber').setDefaultTimeout(${JSON.stringify(stepTimeoutMs)});\n`,
  );
  return bundleDir;
}

async function bundleHarness(rootDir: string, outdir: string, files: string[], catcher: string): Promise<Metafile> {
  const { metafile } = await build({
    ...NODE_BUNDLE,
    absWorkingDir: rootDir,
    // CommonJS, required by Cucumber: packages left outside are then required too. An ES module
    // importing playwright-core or Cucumber (CommonJS) makes Node scan their multi-megabyte files
    // for export names first, in every worker (~0.5 s of CPU each).
    format: 'cjs',
    stdin: {
      contents: files.map((file) => `import ${JSON.stringify(file)};`).join('\n'),
      resolveDir: rootDir,
      sourcefile: 'harness-entry.js',
      loader: 'js',
    },
    outfile: join(outdir, HARNESS_BUNDLE_FILE),
    // The map is read for stack traces only, which need no source text: without it the map is a
    // third of the size to read in every process that loads the bundle.
    sourcesContent: false,
    external: ['@cucumber/cucumber', 'playwright-core', 'better-sqlite3', 'pg-native'],
    ...IMPORT_META_URL,
  });
  await copyFile(join(rootDir, catcher), join(outdir, 'browser-catcher.sh'));
  return metafile as Metafile;
}

/** Builds (or finds in the cache) the embedded gateway and CLI; returns the folder holding them. */
async function buildEmbeddedTargets(rootDir: string, parent: string): Promise<string> {
  const starter = 'features/runner/start-with-code-cache.cjs';
  return cachedBuild(rootDir, parent, { name: 'targets', entries: [], copied: [starter] }, (dir) =>
    bundleEmbeddedTargets(rootDir, dir, starter),
  );
}

async function bundleEmbeddedTargets(rootDir: string, outdir: string, starter: string): Promise<Metafile> {
  const { metafile } = await build({
    ...NODE_BUNDLE,
    absWorkingDir: rootDir,
    format: 'cjs',
    entryPoints: {
      'reference-proxy': join(rootDir, `reference-proxy/main${MODULE_EXTENSION}`),
      cli: join(rootDir, `cli/main${MODULE_EXTENSION}`),
    },
    outExtension: { '.js': '.cjs' },
    external: ['better-sqlite3', 'pg-native'],
    ...IMPORT_META_URL,
    outdir,
  });
  await copyFile(join(rootDir, starter), join(outdir, 'start-with-code-cache.cjs'));
  return metafile as Metafile;
}

const SHARD_PLUGIN_FILE = 'shard-plugin.cjs';

/**
 * Cucumber loads a plugin from a module specifier, in its coordinating process: one CommonJS file
 * (zod-free, ~10 kB) that plans the shards and keeps this shard's share.
 */
export async function buildShardPlugin(rootDir: string, outdir: string): Promise<string> {
  await build({
    ...NODE_BUNDLE,
    format: 'cjs',
    entryPoints: [join(rootDir, `features/runner/shard-plugin${MODULE_EXTENSION}`)],
    outfile: join(outdir, SHARD_PLUGIN_FILE),
    external: ['@cucumber/cucumber'],
  });
  return join(outdir, SHARD_PLUGIN_FILE);
}

/** `node start-with-code-cache.cjs <bundle>`, quoted for /bin/sh (the harness runs commands through it). */
function startCommand(outdir: string, bundle: string): string {
  return [process.execPath, join(outdir, 'start-with-code-cache.cjs'), join(outdir, bundle)].map(shellQuote).join(' ');
}

/** What a cached build is made from, besides the files esbuild reads (which its metafile lists). */
export interface CacheSpec {
  /** Names the build's folders and index in the cache. */
  name: string;
  /** The entry points, as the build is given them (a new file is a new build). */
  entries: string[];
  /** Files copied beside the bundles, relative to the project's root. */
  copied: string[];
}

/** A file a build read, as it was then: a build is reused while every one of them is unchanged. */
type InputStamp = [path: string, size: number, mtimeMs: number];

interface CacheIndex {
  /** The folder (under the cache's parent) holding the bundles. */
  folder: string;
  inputs: InputStamp[];
}

/**
 * Bundles are kept between runs (measured: bundling took 2-4 s of a run's start, with 2.5 s of
 * esbuild's CPU, and every run started the embedded gateway and CLI without V8's code cache). A
 * build is reused only while every file esbuild read for it (its metafile's inputs, node_modules
 * included) and every file copied beside it has the same size and modification time, and while the
 * entry points, the options below, this file, esbuild and Node.js are the same; otherwise it is
 * built again into a new folder. A bundle is never changed once built (only V8's code cache is added
 * beside it, written whole), so runs that overlap never see one change under them; folders unused
 * for a day are removed (removeStaleBuilds).
 */
export async function cachedBuild(
  rootDir: string,
  parent: string,
  spec: CacheSpec,
  buildInto: (dir: string) => Promise<Metafile>,
): Promise<string> {
  const options = JSON.stringify([
    spec,
    NODE_BUNDLE,
    IMPORT_META_URL,
    MODULE_EXTENSION,
    esbuildVersion,
    process.version,
  ]);
  // This file is how the bundles are made: a new version of it is a new build.
  const recipe = await readFile(fileURLToPath(import.meta.url));
  const key = createHash('sha256').update(options).update(recipe).digest('hex').slice(0, 16);
  const indexFile = join(parent, `${spec.name}-${key}.json`);
  const index = await readFile(indexFile, 'utf8')
    .then((text) => JSON.parse(text) as CacheIndex)
    .catch(() => undefined);
  if (index && (await unchanged(rootDir, index.inputs))) {
    const folder = join(parent, index.folder);
    const now = new Date();
    // Marks the folder as in use, for removeStaleBuilds.
    if (
      await utimes(folder, now, now).then(
        () => true,
        () => false,
      )
    )
      return folder;
  }
  const folder = await mkdtemp(join(parent, `${spec.name}-`));
  const metafile = await buildInto(folder);
  const read = [...Object.keys(metafile.inputs).filter((path) => !path.startsWith('<')), ...spec.copied];
  const inputs = await Promise.all(read.map((path) => stampOf(rootDir, path)));
  const written: CacheIndex = { folder: basename(folder), inputs: inputs.filter((i): i is InputStamp => !!i) };
  // Written whole, then renamed: a run starting meanwhile reads the old index or the new one.
  const partial = `${indexFile}.${process.pid}`;
  await writeFile(partial, JSON.stringify(written));
  await rename(partial, indexFile);
  if (index) await removeSuperseded(join(parent, index.folder));
  return folder;
}

/**
 * A build replaced by a newer one is removed once no run has started with it for an hour (a run
 * marks its folders when it starts): editing the sources would otherwise leave ~12 MB a build.
 */
async function removeSuperseded(folder: string): Promise<void> {
  const info = await stat(folder).catch(() => undefined);
  if (info && Date.now() - info.mtimeMs > SUPERSEDED_AFTER_MS) await rm(folder, { recursive: true, force: true });
}

async function unchanged(rootDir: string, inputs: readonly InputStamp[]): Promise<boolean> {
  const now = await Promise.all(inputs.map(([path]) => stampOf(rootDir, path)));
  return now.every((stamp, i) => stamp !== undefined && JSON.stringify(stamp) === JSON.stringify(inputs[i]));
}

async function stampOf(rootDir: string, path: string): Promise<InputStamp | undefined> {
  const info = await stat(resolve(rootDir, path)).catch(() => undefined);
  return info ? [path, info.size, info.mtimeMs] : undefined;
}

async function removeStaleBuilds(parent: string): Promise<void> {
  for (const entry of await readdir(parent)) {
    const path = join(parent, entry);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_AFTER_MS) await rm(path, { recursive: true, force: true });
  }
}
