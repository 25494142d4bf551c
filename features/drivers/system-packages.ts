/**
 * The Debian packages the suite needs, found or installed before the run starts:
 * - chromium-headless-shell: the browser Playwright drives (Playwright cannot download browsers
 *   here). It is Chromium's headless-only build, the one Playwright itself uses for headless runs:
 *   a fresh context and page cost it about a fifth of the CPU that full Chromium's headless mode
 *   takes, which on two cores is most of the suite's time. A full `chromium` already installed is
 *   used when the shell is not (slower, with a hint);
 * - faketime: libfaketime, which moves a gateway's clock for the expiry scenarios;
 * - gcc and libc6-dev: a C compiler, which builds the harness's fix for libfaketime
 *   (clock/faketime-fix.c; why: fake-clock.ts). Without it processes still run on a moved clock,
 *   without the fix, and the run says what that breaks (Python 3.11+ time.sleep);
 * - redis-server: the shared store of the replica scenarios;
 * - PostgreSQL's server binaries: the replicas' shared user database. Found, never installed here
 *   (Debian's package creates and starts a cluster of its own on port 5432); .ci/run installs it.
 *
 * When something is missing and we are root with apt-get, it is installed (one apt-get call for
 * everything missing); otherwise the exact command to run is returned in the error.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildFaketimeFix } from './clock/faketime-fix.ts';
import { faketimePreload } from './fake-clock.ts';
import type { PostgresTools } from './postgres-server.ts';

const run = promisify(execFile);

export interface SystemTools {
  chromiumPath: string;
  /**
   * What LD_PRELOAD holds to put a process on a moved clock (FakeClock.processEnv): the path of
   * libfaketime.so.1, preceded by the harness's fix when a C compiler built it (`fix.so:libfaketime.so.1`);
   * undefined when faketime is not installed (clock scenarios skip).
   */
  faketimeLibrary: string | undefined;
  /** Path of redis-server, or undefined (replica scenarios skip). */
  redisServer: string | undefined;
  /** PostgreSQL's initdb and postgres, or undefined (the shared-database scenarios skip). */
  postgres: PostgresTools | undefined;
}

interface Requirement {
  debianPackage: string;
  candidates: string[];
  required: boolean;
  /** What a candidate must allow (default: reading). */
  access?: number;
}

/** Chromium's headless shell first (the binary itself, not the /usr/bin wrapper script), then full Chromium. */
const CHROMIUM_CANDIDATES = [
  '/usr/lib/chromium/chromium-headless-shell',
  '/usr/bin/chromium-headless-shell',
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
];

const FAKETIME_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
];

/** gcc's options (-shared -fPIC -o) work with each. */
const C_COMPILER_CANDIDATES = ['/usr/bin/cc', '/usr/bin/gcc', '/usr/bin/clang'];

/** A header of libc6-dev that the fix includes: without the C library's headers nothing compiles. */
const C_HEADER_CANDIDATES = ['/usr/include/dlfcn.h'];

/** Where the fix is built, once per source: .tmp/ of this checkout (ignored by git, kept between runs). */
const DEFAULT_BUILD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.tmp', 'faketime-fix');

async function firstExisting(paths: readonly string[], mode: number = constants.R_OK): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path, mode);
      return path;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export class MissingSystemPackageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingSystemPackageError';
  }
}

export interface EnsureOptions {
  /** CHROMIUM_PATH from the environment, if set. */
  chromiumPath: string | undefined;
  /** Whether this process may run apt-get (root and apt-get present). */
  isRoot: boolean;
  /** Where to tell people what is happening. */
  log: (line: string) => void;
  /** Where the libfaketime fix is built and kept (default: .tmp/faketime-fix in this checkout). */
  buildDir?: string;
}

export async function ensureSystemTools(options: EnsureOptions): Promise<SystemTools> {
  const requirements = {
    chromiumPath: {
      debianPackage: 'chromium-headless-shell',
      candidates: options.chromiumPath ? [options.chromiumPath] : CHROMIUM_CANDIDATES,
      required: true,
    },
    faketimeLibrary: { debianPackage: 'faketime', candidates: FAKETIME_CANDIDATES, required: false },
    cCompiler: { debianPackage: 'gcc', candidates: C_COMPILER_CANDIDATES, required: false, access: constants.X_OK },
    cHeaders: { debianPackage: 'libc6-dev', candidates: C_HEADER_CANDIDATES, required: false },
    redisServer: { debianPackage: 'redis-server', candidates: ['/usr/bin/redis-server'], required: false },
  } satisfies Record<string, Requirement>;
  if (options.chromiumPath && !(await firstExisting([options.chromiumPath]))) {
    throw new MissingSystemPackageError(`CHROMIUM_PATH=${options.chromiumPath} does not exist or is not readable`);
  }
  const missing: string[] = [];
  for (const requirement of Object.values<Requirement>(requirements)) {
    if (!(await firstExisting(requirement.candidates, requirement.access))) missing.push(requirement.debianPackage);
  }
  if (missing.length > 0) {
    const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
    const aptGet = await firstExisting(['/usr/bin/apt-get']);
    if (options.isRoot && aptGet) {
      options.log(`installing missing Debian packages: ${missing.join(', ')} (${command})`);
      await run('/bin/sh', ['-c', command], {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive' },
        maxBuffer: 64 * 1024 * 1024,
      });
    } else {
      const chromiumMissing = missing.includes(requirements.chromiumPath.debianPackage);
      const advice = `run as root: ${command}${chromiumMissing ? ', or set CHROMIUM_PATH to a Chromium or Chrome binary' : ''}`;
      if (chromiumMissing) throw new MissingSystemPackageError(`no Chromium found; ${advice}`);
      options.log(`optional packages missing (${missing.join(', ')}): their scenarios will be skipped; ${advice}`);
    }
  }
  const chromiumPath = await firstExisting(requirements.chromiumPath.candidates);
  if (!chromiumPath) throw new MissingSystemPackageError('Chromium could not be installed; set CHROMIUM_PATH');
  if (!options.chromiumPath && !chromiumPath.includes('headless-shell')) {
    options.log(
      `using ${chromiumPath}; the Debian package chromium-headless-shell runs the suite several times faster (apt-get install -y chromium-headless-shell)`,
    );
  }
  const faketime = await firstExisting(requirements.faketimeLibrary.candidates);
  return {
    chromiumPath,
    faketimeLibrary: faketime && (await withFaketimeFix(faketime, options)),
    redisServer: await firstExisting(requirements.redisServer.candidates),
    postgres: await findPostgres(options.isRoot),
  };
}

/** Debian's layout, newest first. */
const POSTGRES_BIN_CANDIDATES = ['17', '16', '15'].map((version) => `/usr/lib/postgresql/${version}/bin`);

/**
 * PostgreSQL's server binaries, and as root the `postgres` user to run them as (initdb and
 * postgres refuse root); undefined when either is missing.
 */
export async function findPostgres(isRoot: boolean): Promise<PostgresTools | undefined> {
  const initdb = await firstExisting(
    POSTGRES_BIN_CANDIDATES.map((dir) => join(dir, 'initdb')),
    constants.X_OK,
  );
  if (!initdb) return undefined;
  const binDir = dirname(initdb);
  if (!isRoot) return { binDir, runAs: undefined };
  if (!(await firstExisting(['/usr/sbin/runuser', '/usr/bin/runuser', '/sbin/runuser'], constants.X_OK)))
    return undefined;
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { binDir, runAs: { user: 'postgres', uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } };
  } catch {
    return undefined;
  }
}

/** libfaketime and a C compiler able to build the fix, as found on this machine (nothing is installed). */
export async function findClockTools(): Promise<{
  faketimeLibrary: string | undefined;
  cCompiler: string | undefined;
}> {
  const [faketimeLibrary, compiler, headers] = await Promise.all([
    firstExisting(FAKETIME_CANDIDATES),
    firstExisting(C_COMPILER_CANDIDATES, constants.X_OK),
    firstExisting(C_HEADER_CANDIDATES),
  ]);
  return { faketimeLibrary, cCompiler: headers ? compiler : undefined };
}

/**
 * libfaketime's LD_PRELOAD value, with the fix in front when the C compiler builds it; otherwise
 * libfaketime alone, and the run's output says what that breaks.
 */
async function withFaketimeFix(faketimeLibrary: string, options: EnsureOptions): Promise<string> {
  const without = (reason: string) => {
    options.log(
      `moved clocks run without the harness's libfaketime fix (${reason}): absolute sleeps on the monotonic clock fail with EINVAL there, so Python 3.11+ targets fail where they call time.sleep() on a moved clock (Node and Java targets are not affected)`,
    );
    return faketimeLibrary;
  };
  const compiler = (await findClockTools()).cCompiler;
  if (!compiler) return without('no C compiler with the C library headers; as root: apt-get install -y gcc libc6-dev');
  try {
    const fix = await buildFaketimeFix({ compiler, cacheDir: options.buildDir ?? DEFAULT_BUILD_DIR });
    return faketimePreload(faketimeLibrary, fix);
  } catch (error) {
    return without(error instanceof Error ? error.message : String(error));
  }
}
