// What every bin/ wrapper does: run one command's main module in this same process (so `$!` after
// `&` is the server's own PID). In a checkout that is the TypeScript, through tsx (a development
// dependency); in the installed npm package, which ships no .ts, the compiled dist/ (no tsx and no
// TypeScript at run time).
import { existsSync } from 'node:fs';

/** @param {string} entry the main module's path from the package root, without extension (e.g. `cli/main`) */
export async function runCommand(entry) {
  const source = new URL(`../${entry}.ts`, import.meta.url);
  if (existsSync(source)) {
    const { register } = await import('tsx/esm/api');
    register();
    await import(source.href);
  } else {
    await import(new URL(`../dist/${entry}.js`, import.meta.url).href);
  }
}
