// What every bin/ wrapper does: run one command's main module in this same process (so `$!` after
// `&` is the server's own PID). In the installed npm package, which ships no .ts, the compiled
// dist/ (no tsx and no TypeScript at run time). In a checkout, the TypeScript: through tsx (a
// development dependency), or, for a command in BUNDLED_COMMANDS, as one esbuild bundle rebuilt
// whenever a file it is made of changes (command-bundle.mjs) and run with a V8 code cache
// (run-bundle.mjs): it starts without tsx's loader, as the shipped one does.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node >= 22.1 keeps the code V8 compiles for each module between runs; Node 20 has no such cache.
module.enableCompileCache?.();

/** @param {string} entry the main module's path from the package root, without extension (e.g. `cli/main`) */
export async function runCommand(entry) {
  const source = new URL(`../${entry}.ts`, import.meta.url);
  if (!existsSync(source)) {
    await import(new URL(`../dist/${entry}.js`, import.meta.url).href);
    return;
  }
  const { BUNDLED_COMMANDS, checkoutBundle } = await import('./command-bundle.mjs');
  if (Object.hasOwn(BUNDLED_COMMANDS, entry)) {
    const bundle = await checkoutBundle(fileURLToPath(new URL('..', import.meta.url)), entry);
    if (bundle) {
      const { runBundle } = await import('./run-bundle.mjs');
      if (runBundle(bundle)) return;
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
}
