/**
 * `node start-with-code-cache.cjs <bundle.cjs> [args...]`: runs one of the run's CommonJS bundles
 * (the embedded reference proxy or reference CLI, see build-run.ts) as `node <bundle.cjs> [args...]`
 * would, with a V8 code cache kept beside the bundle.
 *
 * A run starts ~45 gateways and ~45 CLI processes from the same two files, and each start used to
 * compile the same 1-3 MB of JavaScript again (measured: a gateway start 0.45 s of CPU, 0.30 s with
 * the cache). Node 20 has no compile cache of its own (module.enableCompileCache is Node 22), so
 * the bundle is compiled here through node:vm with V8's cached data: the first process of a run
 * compiles it and, as it exits, saves the code V8 compiled for everything it ran; the next ones
 * start from that. V8 checks the cache against the source and its own version and flags, and
 * refuses one that does not match: the file is then compiled as usual and the cache written again.
 *
 * Stack traces still name the TypeScript files: source-map-support maps them, loaded and reading
 * the bundle's source map only when a stack is actually formatted (Node's --enable-source-maps reads
 * the map at every start, and does not see code compiled through node:vm).
 */
'use strict';

const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, resolve } = require('node:path');
const { Script } = require('node:vm');

const bundle = process.argv[2];
if (!bundle) {
  process.stderr.write('usage: node start-with-code-cache.cjs <bundle.cjs> [args...]\n');
  process.exit(2);
}
const file = resolve(bundle);
const cacheFile = `${file}.v8-code-cache`;

mapStacksWhenFirstFormatted();

const cachedData = readCache(cacheFile);
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once('exit', () => saveCache(script, cacheFile));
}

// The bundle sees the command line `node <bundle.cjs> [args...]`, as if started directly.
process.argv.splice(1, 1);
const entry = new Module(file, null);
entry.filename = file;
script.runInThisContext()(entry.exports, Module.createRequire(file), entry, file, dirname(file));

/**
 * source-map-support, and the source-map library under it, take 15-30 ms of CPU to load, and most
 * processes (a gateway that is stopped, a CLI run that succeeds) never format a stack. V8 formats a
 * stack the first time something reads `error.stack`; only then is source-map-support loaded and
 * installed, and from then on it formats every stack itself.
 */
function mapStacksWhenFirstFormatted() {
  Error.prepareStackTrace = function loadSourceMapSupport(error, callSites) {
    require('source-map-support').install({ environment: 'node', handleUncaughtExceptions: false });
    return Error.prepareStackTrace(error, callSites);
  };
}

function readCache(path) {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Written whole, then renamed: processes of the run that start meanwhile never read half a cache. */
function saveCache(compiled, path) {
  const partial = `${path}.${process.pid}`;
  try {
    writeFileSync(partial, compiled.createCachedData());
    renameSync(partial, path);
  } catch {
    // A cache is an optimisation: a process that cannot write one still did its work.
    rmSync(partial, { force: true });
  }
}
