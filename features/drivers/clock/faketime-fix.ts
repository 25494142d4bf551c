/**
 * Builds faketime-fix.c (why it exists: its header, and fake-clock.ts) into a shared library with
 * the machine's C compiler, once per source, compiler and options: the result is kept in `cacheDir`
 * under a name holding their hash, so later runs only check that it is there.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The compiler's options around the output and source paths; part of the cache key. */
const OPTIONS = ['-shared', '-fPIC', '-O2'];
const LIBRARIES = ['-ldl'];

export interface FaketimeFixBuild {
  /** Path of a C compiler taking gcc's options (cc, gcc, clang). */
  compiler: string;
  /** Where built libraries are kept; created when missing. */
  cacheDir: string;
}

/** Path of the built library; throws with the compiler's messages when it cannot be built. */
export async function buildFaketimeFix(build: FaketimeFixBuild): Promise<string> {
  const source = fileURLToPath(new URL('./faketime-fix.c', import.meta.url));
  const key = createHash('sha256')
    .update(`${[build.compiler, ...OPTIONS, ...LIBRARIES].join(' ')}\0`)
    .update(await readFile(source))
    .digest('hex')
    .slice(0, 16);
  const library = join(build.cacheDir, `faketime-fix-${key}.so`);
  try {
    await access(library);
    return library;
  } catch {
    // not built yet
  }
  await mkdir(build.cacheDir, { recursive: true });
  // Built under a name of its own, then renamed: a run started meanwhile never preloads half a file.
  const partial = `${library}.${randomBytes(6).toString('hex')}.partial`;
  try {
    await run(build.compiler, [...OPTIONS, '-o', partial, source, ...LIBRARIES], { timeout: 60_000 });
    await rename(partial, library);
  } catch (error) {
    await rm(partial, { force: true });
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`${build.compiler} could not build ${source}: ${stderr || (error as Error).message}`);
  }
  return library;
}
