/**
 * What a run executes is bundled once per run with esbuild, into a folder of its own
 * (.tmp/build/run-*, removed after the run; runs may overlap, as in the self-check):
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
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
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

/** Folders of runs that ended without cleaning up (killed) are removed after this long. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** Settings both bundles share: Node 20, packages inside, maps beside the code. */
const NODE_BUNDLE: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Maps beside the bundle, not inside it: an inline map is read at every start (+0.09 s) and only
  // helps a process that turns source maps on.
  sourcemap: 'linked',
  logLevel: 'warning',
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
  try {
    await Promise.all([
      buildHarness(rootDir, outdir, options.stepTimeoutMs),
      options.embeddedTargets ? buildEmbeddedTargets(rootDir, outdir) : undefined,
      options.shardPlugin ? buildShardPlugin(rootDir, outdir) : undefined,
    ]);
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    supportCode: [join(outdir, 'source-maps-on.cjs'), join(outdir, 'harness.cjs'), join(outdir, 'step-timeout.cjs')],
    referenceProxyCommand: options.embeddedTargets ? startCommand(outdir, 'reference-proxy.cjs') : undefined,
    cliCommand: options.embeddedTargets ? startCommand(outdir, 'cli.cjs') : undefined,
    shardPlugin: options.shardPlugin ? join(outdir, SHARD_PLUGIN_FILE) : undefined,
    dispose,
  };
}

async function buildHarness(rootDir: string, outdir: string, stepTimeoutMs: number): Promise<void> {
  const files: string[] = [];
  for (const folder of ['features/support', 'features/steps']) {
    for (const name of (await readdir(join(rootDir, folder))).sort()) {
      if (name.endsWith(MODULE_EXTENSION) && !name.endsWith(`.test${MODULE_EXTENSION}`))
        files.push(`./${folder}/${name}`);
    }
  }
  await build({
    ...NODE_BUNDLE,
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
    outfile: join(outdir, 'harness.cjs'),
    external: ['@cucumber/cucumber', 'playwright-core', 'better-sqlite3', 'pg-native'],
    ...IMPORT_META_URL,
  });
  await copyFile(join(rootDir, 'features/drivers/browser-catcher.sh'), join(outdir, 'browser-catcher.sh'));
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
}

async function buildEmbeddedTargets(rootDir: string, outdir: string): Promise<void> {
  await build({
    ...NODE_BUNDLE,
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
  await copyFile(join(rootDir, 'features/runner/start-with-code-cache.cjs'), join(outdir, 'start-with-code-cache.cjs'));
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

async function removeStaleBuilds(parent: string): Promise<void> {
  for (const entry of await readdir(parent)) {
    const path = join(parent, entry);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_AFTER_MS) await rm(path, { recursive: true, force: true });
  }
}
