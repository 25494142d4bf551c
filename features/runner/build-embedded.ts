/**
 * The embedded default targets (reference proxy and reference CLI) are bundled once per run with
 * esbuild, so each gateway start and each CLI run is a plain `node file.js`: about a second less
 * than going through tsx every time, which a suite that starts dozens of processes feels.
 * Packages are bundled too, except native ones (better-sqlite3, pg's optional pg-native), which are
 * resolved from the project's node_modules: one file to load instead of hundreds of modules to
 * resolve takes about a fifth off each start (measured: proxy 0.49 -> 0.43 s, `cli --help`
 * 0.37 -> 0.26 s). The bundle goes under the project (.tmp/build/run-*) so that those resolve
 * wherever reports go; each run has a folder of its own (runs may overlap, as in the self-check),
 * removed after it.
 */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

export interface EmbeddedBuild {
  referenceProxy: string;
  cli: string;
  /** Remove this run's bundle. */
  dispose(): Promise<void>;
}

/** Folders of runs that ended without cleaning up (killed) are removed after this long. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

export async function buildEmbeddedTargets(rootDir: string): Promise<EmbeddedBuild> {
  const parent = join(rootDir, '.tmp', 'build');
  await mkdir(parent, { recursive: true });
  await removeStaleBuilds(parent);
  const outdir = await mkdtemp(join(parent, 'run-'));
  await build({
    entryPoints: { 'reference-proxy': join(rootDir, 'reference-proxy/main.ts'), cli: join(rootDir, 'cli/main.ts') },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', 'pg-native'],
    // Bundled CommonJS packages call require(); an ES module has none of its own.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    outdir,
    // Code loaded only when configured (the Redis and PostgreSQL stores) stays in chunks of its own.
    splitting: true,
    // Maps beside the bundle, not inside it: an inline map is read at every start (+0.09 s) and only
    // helps a process run with --enable-source-maps.
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  return {
    referenceProxy: join(outdir, 'reference-proxy.js'),
    cli: join(outdir, 'cli.js'),
    dispose: () => rm(outdir, { recursive: true, force: true }),
  };
}

async function removeStaleBuilds(parent: string): Promise<void> {
  for (const entry of await readdir(parent)) {
    const path = join(parent, entry);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_AFTER_MS) await rm(path, { recursive: true, force: true });
  }
}
