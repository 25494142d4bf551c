/**
 * The Debian packages the suite needs, found or installed before the run starts:
 * - chromium-headless-shell: the browser Playwright drives (Playwright cannot download browsers
 *   here). It is Chromium's headless-only build, the one Playwright itself uses for headless runs:
 *   a fresh context and page cost it about a fifth of the CPU that full Chromium's headless mode
 *   takes, which on two cores is most of the suite's time. A full `chromium` already installed is
 *   used when the shell is not (slower, with a hint);
 * - faketime: libfaketime, which moves a gateway's clock for the expiry scenarios;
 * - redis-server: the shared store of the replica scenarios.
 *
 * When something is missing and we are root with apt-get, it is installed (one apt-get call for
 * everything missing); otherwise the exact command to run is returned in the error.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SystemTools {
  chromiumPath: string;
  /** Path of libfaketime.so.1, or undefined when faketime is not installed (clock scenarios skip). */
  faketimeLibrary: string | undefined;
  /** Path of redis-server, or undefined (replica scenarios skip). */
  redisServer: string | undefined;
}

interface Requirement {
  debianPackage: string;
  candidates: string[];
  required: boolean;
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

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path, constants.R_OK);
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
}

export async function ensureSystemTools(options: EnsureOptions): Promise<SystemTools> {
  const requirements: Record<keyof SystemTools, Requirement> = {
    chromiumPath: {
      debianPackage: 'chromium-headless-shell',
      candidates: options.chromiumPath ? [options.chromiumPath] : CHROMIUM_CANDIDATES,
      required: true,
    },
    faketimeLibrary: { debianPackage: 'faketime', candidates: FAKETIME_CANDIDATES, required: false },
    redisServer: { debianPackage: 'redis-server', candidates: ['/usr/bin/redis-server'], required: false },
  };
  if (options.chromiumPath && !(await firstExisting([options.chromiumPath]))) {
    throw new MissingSystemPackageError(`CHROMIUM_PATH=${options.chromiumPath} does not exist or is not readable`);
  }
  const missing: string[] = [];
  for (const requirement of Object.values(requirements)) {
    if (!(await firstExisting(requirement.candidates))) missing.push(requirement.debianPackage);
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
  return {
    chromiumPath,
    faketimeLibrary: await firstExisting(requirements.faketimeLibrary.candidates),
    redisServer: await firstExisting(requirements.redisServer.candidates),
  };
}
