// Runs a command's CommonJS bundle in this process as `require` would, with a V8 code cache kept
// beside it: the shipped dist/cli/main.js runs dist/cli/cli-main.<hash>.cjs this way, and a checkout's
// bin/cli-sso.mjs its cached bundle (command-bundle.mjs).
//
// Node 20 has no compile cache of its own (module.enableCompileCache is Node 22.1), so the bundle is
// compiled through node:vm with V8's cached data: the first run compiles it and, as it exits, saves
// the code V8 compiled for everything it ran; later runs start from that (measured: 41 ms less CPU
// to the login code, on ~210 ms). The cache sits in the bundle's own folder, so whoever could plant
// a cache there could as well change the code it caches. Its name carries the bundle's, which
// carries a hash of the bundle's content, so a cache never meets another bundle than its own; V8
// itself refuses a cache from another V8 version or other flags, and the file is then compiled as
// usual and the cache written again. A folder that cannot be written to just gets no cache.
import { accessSync, constants, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/**
 * Runs the bundle at `url`; false when there is no such file (the caller then imports it the usual
 * way: the launcher of dist/cli/main.js, bundled again by esbuild, finds nothing beside itself).
 * @param {URL} url a CommonJS bundle
 * @returns {boolean}
 */
export function runBundle(url) {
  const file = fileURLToPath(url);
  let source;
  try {
    // latin1: the bundles are pure ASCII (command-bundle.mjs checks), where latin1 and UTF-8 read
    // the same, and latin1 is a copy where UTF-8 is a decoding (1 ms instead of 6 for ~1 MB).
    source = readFileSync(file, 'latin1');
  } catch {
    return false;
  }
  const require = createRequire(file);
  const cacheFile = `${file}.v8-code-cache`;
  const cachedData = readCache(cacheFile);
  // No importModuleDynamically: the bundles hold no import() that Node would have to load
  // (command-bundle.mjs refuses to build one).
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  // Serializing a cache costs ~8 ms at exit: not for a folder that cannot keep it (a global install).
  if ((cachedData === undefined || script.cachedDataRejected) && writable(dirname(file))) {
    process.once('exit', () => saveCache(script, cacheFile));
  }
  const module = new Module(file, null);
  module.filename = file;
  module.paths = require.resolve.paths('x') ?? [];
  script.runInThisContext()(module.exports, require, module, file, dirname(file));
  return true;
}

function writable(dir) {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function readCache(path) {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Written whole, then renamed: a process starting meanwhile never reads half a cache. */
function saveCache(script, path) {
  const partial = `${path}.${process.pid}`;
  try {
    writeFileSync(partial, script.createCachedData());
    renameSync(partial, path);
  } catch {
    // A cache is an optimisation: a process that cannot write one still did its work.
    rmSync(partial, { force: true });
  }
}
