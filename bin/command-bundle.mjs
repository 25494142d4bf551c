// A command as one esbuild bundle: what `npm run build` ships as dist/cli/main.js (scripts/build.ts),
// and what a checkout's bin/ wrapper runs instead of the TypeScript through tsx (run-command.mjs).
//
// Why a bundle: Node's ES module loader resolves, reads and links each file on its own, and the CLI
// is ~180 of them (zod alone is ~150); as one file the CLI's start measured 522 -> 338 ms of CPU
// to the code on screen here (2 busy cores). tsx's loader hooks cost another ~200 ms on top.
//
// A checkout's bundle is cached under node_modules/.cache/cli-sso-harness/ and used only while every
// file it was built from is unchanged, so an edit to a .ts file always takes effect on the next
// run, without a manual build. Its manifest lists every input esbuild read (our .ts files and the
// packages' files, from esbuild's metafile), this file, tsconfig.json, package.json and npm's
// node_modules/.package-lock.json (rewritten by every install), each with its size, mtime and
// ctime: a write changes ctime, which no tool can set back (tar, cp -p and git restore mtimes
// only). Any difference, a missing file or an unreadable manifest means a rebuild before the run.
import {
  chmodSync,
  copyFileSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The commands run as a bundle. Every package is inside, even those a command imports only when it
 * needs them (ora, @inquirer/select, open): code compiled through node:vm, as run-bundle.mjs
 * compiles a bundle, has no loader for import() (Node 20.12's vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
 * is experimental, warns on stderr, and is lost with a code cache), and esbuild turns the import()
 * of a package inside into a call that runs it only then. `besides`: files a package finds beside
 * its own file (through import.meta.url, which in a bundle is the bundle's), copied beside the bundle.
 */
export const BUNDLED_COMMANDS = {
  // `open` prefers its own xdg-open script to the system's (which a machine may lack).
  'cli/main': { besides: [{ pkg: 'open', file: 'xdg-open' }] },
  // The mock IdP's cold start (spawn to the first discovery answer): 775 ms as tsc's modules (koa,
  // oidc-provider and their ~400 files, each resolved and linked on its own), 414 ms as one bundle.
  'mock-idp/main': { besides: [] },
};

/** The manifest's format (a change to the build itself needs no bump: this file is one of the inputs). */
const MANIFEST_VERSION = 2;

/**
 * An input changed this close to the start of a build (or during it) may have been read half old,
 * half new: such a build runs once but is not kept (timestamps can be as coarse as 2 s).
 */
const SETTLE_MS = 2000;

/** Bundles left by an earlier build are removed after this long (a process may still be starting one). */
const STALE_BUNDLE_MS = 60_000;

/**
 * esbuild options for `entry` (e.g. `cli/main`): CommonJS for Node 20, to be run by run-bundle.mjs
 * with a V8 code cache (node:vm compiles scripts, not ES modules); every package inside;
 * import.meta.url the bundle's own URL.
 * @param {string} root the repository's root
 * @param {keyof typeof BUNDLED_COMMANDS} entry
 */
export function bundleOptions(root, entry) {
  return {
    absWorkingDir: root,
    entryPoints: [join(root, `${entry}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    define: { 'import.meta.url': '__bundleImportMetaUrl' },
    banner: { js: "const __bundleImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    // Pure ASCII (every other character escaped, and no comments, where esbuild would keep one as
    // it is), so that run-bundle.mjs reads it as latin1: 1 ms instead of 6 for UTF-8 here.
    charset: 'ascii',
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
    write: false,
    outfile: join(root, `${entry}.cjs`),
  };
}

/**
 * Bundles `entry`: its code, its file name (`<name>.<hash of the content>.cjs`, so that a new bundle
 * never takes the name, or the code cache, of another), the files esbuild read, and the files to
 * copy beside it. Throws (with esbuild's messages) when the source does not compile, and when the
 * bundle could not run under run-bundle.mjs: a character that is not ASCII, an import() left to
 * Node (of one of Node's own modules: take those with require).
 * @param {string} root the repository's root
 * @param {keyof typeof BUNDLED_COMMANDS} entry
 * @returns {Promise<{ code: Uint8Array, fileName: string, inputs: string[], besides: Array<{ from: string, name: string }> }>}
 */
export async function bundleCommand(root, entry) {
  const { build } = await import('esbuild');
  const result = await build(bundleOptions(root, entry));
  const output = Object.values(result.metafile.outputs)[0];
  const code = result.outputFiles[0].contents;
  const name = entry.replaceAll('/', '-');
  const lateImports = output.imports.filter((i) => i.external && i.kind === 'dynamic-import').map((i) => i.path);
  if (lateImports.length > 0) {
    throw new Error(
      `the ${entry} bundle would import() ${lateImports.join(', ')} at run time, which code compiled through node:vm cannot do: require it (createRequire) instead`,
    );
  }
  if (code.some((byte) => byte > 0x7f)) throw new Error(`the ${entry} bundle holds a character that is not ASCII`);
  // Required here, not imported above: a checkout whose bundle is up to date never loads node:crypto.
  const { createHash } = createRequire(import.meta.url)('node:crypto');
  const fileName = `${name}.${createHash('sha256').update(code).digest('hex').slice(0, 16)}.cjs`;
  const requireFromRoot = createRequire(join(root, 'package.json'));
  const besides = BUNDLED_COMMANDS[entry].besides.map(({ pkg, file }) => ({
    from: join(dirname(requireFromRoot.resolve(pkg)), file),
    name: file,
  }));
  return { code, fileName, inputs: Object.keys(result.metafile.inputs).map((input) => resolve(root, input)), besides };
}

/**
 * The URL of an up-to-date bundle of `entry` for this checkout, built now if there is none or a
 * source changed; undefined when it cannot be built or kept (a syntax error, a read-only
 * node_modules): the caller then runs the TypeScript through tsx, which reports any error itself.
 * @param {string} root the repository's root
 * @param {keyof typeof BUNDLED_COMMANDS} entry
 * @param {{ settleMs?: number }} [options] settleMs: SETTLE_MS, which tests set to 0
 * @returns {Promise<URL | undefined>}
 */
export async function checkoutBundle(root, entry, { settleMs = SETTLE_MS } = {}) {
  // node_modules may be shared by several checkouts (a symlink): each has its own folder, named
  // after the checkout's path (no hash: node:crypto is not loaded on this path, which runs every time).
  const checkoutId = resolve(root).replace(/[^A-Za-z0-9_.-]+/g, '-');
  const dir = join(root, 'node_modules', '.cache', 'cli-sso-harness', checkoutId);
  const name = entry.replaceAll('/', '-');
  const manifestFile = join(dir, `${name}.json`);
  const kept = readManifest(manifestFile);
  if (kept?.inputs.every(([path, stamp]) => stampOf(path) === stamp)) {
    return pathToFileURL(join(dir, kept.bundle));
  }
  try {
    return await rebuild(root, entry, dir, name, manifestFile, settleMs);
  } catch {
    return undefined;
  }
}

/**
 * @returns {{ bundle: string, inputs: Array<[string, string]> } | undefined}
 */
function readManifest(file) {
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    if (
      manifest.version !== MANIFEST_VERSION ||
      typeof manifest.bundle !== 'string' ||
      !Array.isArray(manifest.inputs)
    ) {
      return undefined;
    }
    return manifest;
  } catch {
    return undefined;
  }
}

/** Size, mtime and ctime of `path` (nanoseconds), or 'missing'. */
function stampOf(path) {
  return statOf(path).stamp;
}

/** `path`'s stamp (stampOf) and when it last changed (its ctime, in ms; 0 when missing). */
function statOf(path) {
  try {
    const stat = statSync(path, { bigint: true });
    return { stamp: `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`, changedMs: Number(stat.ctimeNs / 1_000_000n) };
  } catch {
    return { stamp: 'missing', changedMs: 0 };
  }
}

async function rebuild(root, entry, dir, name, manifestFile, settleMs) {
  const startedMs = Date.now();
  const { code, fileName: bundle, inputs: read, besides } = await bundleCommand(root, entry);
  await mkdir(dir, { recursive: true });
  for (const { from, name: file } of besides) copyExecutable(from, join(dir, file));
  // Files that steer the build without being read as code; a missing one (no npm lock in a checkout
  // installed by another tool) is a state of its own, and its coming changes the stamp.
  const steering = [
    fileURLToPath(import.meta.url),
    ...['tsconfig.json', 'package.json', 'node_modules/.package-lock.json'].map((file) => join(root, file)),
    ...besides.map(({ from }) => from),
  ];
  // The copies beside the bundle, just made: a copy removed later is made again.
  const copies = besides.map(({ name: file }) => join(dir, file));
  const seen = [...read, ...steering].map((path) => ({ path, ...statOf(path) }));
  // The bundle's name carries its content's hash: the manifest, written last and renamed into place,
  // never points at a bundle that another process is still writing or built from other sources.
  const partial = (file) => `${file}.${process.pid}.partial`;
  writeFileSync(partial(join(dir, bundle)), code);
  renameSync(partial(join(dir, bundle)), join(dir, bundle));
  // A file read for the build and gone now was being removed meanwhile: not settled either.
  const settled = seen.every(
    ({ path, stamp, changedMs }) => !(stamp === 'missing' && read.includes(path)) && changedMs < startedMs - settleMs,
  );
  if (settled) {
    const inputs = [...seen, ...copies.map((path) => ({ path, ...statOf(path) }))].map(({ path, stamp }) => [
      path,
      stamp,
    ]);
    writeFileSync(partial(manifestFile), JSON.stringify({ version: MANIFEST_VERSION, bundle, inputs }));
    renameSync(partial(manifestFile), manifestFile);
  }
  removeStaleBundles(dir, name, bundle);
  return pathToFileURL(join(dir, bundle));
}

/** Copies `from` to `to` (replacing it whole), executable. */
export function copyExecutable(from, to) {
  const partial = `${to}.${process.pid}.partial`;
  copyFileSync(from, partial);
  chmodSync(partial, 0o755);
  renameSync(partial, to);
}

/**
 * The cache stays bounded: earlier bundles of this command (and their code caches), once no process
 * can still be starting them.
 */
function removeStaleBundles(dir, name, current) {
  for (const file of readdirSync(dir)) {
    if (!file.startsWith(`${name}.`) || file.startsWith(current) || file === `${name}.json`) continue;
    const path = join(dir, file);
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_BUNDLE_MS) rmSync(path, { force: true });
    } catch {
      // Removed meanwhile by another process.
    }
  }
}
