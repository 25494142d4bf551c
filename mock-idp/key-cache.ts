/**
 * The next start's signing keys, made ahead of time. Making an RS256 key takes 100-500 ms of CPU
 * (finding two large primes), most of a start; so the `mock-idp` command takes a generation of keys
 * made by the previous run and, once it is serving, makes the generation for the next one (when it
 * has been idle for a moment, or as it stops). The keys stay new on every start: a generation is
 * claimed by one process only (an atomic rename of the file), then deleted, and never used twice.
 *
 * Private keys are never shared across users: the folder must be the user's own (owned by this
 * user, not a symbolic link, no access for group or others: created 0700) and the file too (0600,
 * opened without following links). Anything else is not used, and the start makes its keys itself.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../common/logger.ts';
import { makeGeneration, type PrivateSigningKey, SIGNING_ALGORITHMS } from './signing-keys.ts';

/** The file holding the spare generation, in the cache folder. */
export const SPARE_KEYS_FILE = 'spare-signing-keys.json';
/** A spare file larger than this is not a generation of two keys. */
const MAX_FILE_BYTES = 64 * 1024;

const privateKey = z.looseObject({
  kty: z.enum(['RSA', 'EC']),
  kid: z.string().min(1),
  alg: z.enum(SIGNING_ALGORITHMS),
  use: z.literal('sig'),
  d: z.string().min(1),
});
const spareFile = z.object({ keys: z.array(privateKey).length(SIGNING_ALGORITHMS.length) });

/** Why a folder or file is not used, or undefined when it is the user's own and private. */
function notPrivate(stats: { uid: number; mode: number }, uid: number | undefined): string | undefined {
  if (uid !== undefined && stats.uid !== uid) return 'owned by another user';
  if ((stats.mode & 0o077) !== 0) return `readable or writable by others (mode ${(stats.mode & 0o777).toString(8)})`;
  return undefined;
}

export class KeyCache {
  private readonly uid = process.getuid?.();

  /**
   * @param folder - an absolute path; created (0700) when missing
   * @param logger - says why a spare was not used (never a key)
   */
  constructor(
    readonly folder: string,
    private readonly logger: Logger,
  ) {}

  /** The spare generation, claimed for this process alone; undefined when there is none to use. */
  async take(): Promise<PrivateSigningKey[] | undefined> {
    if (!(await this.folderIsPrivate())) return undefined;
    const claimed = join(this.folder, `.claimed-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await rename(join(this.folder, SPARE_KEYS_FILE), claimed);
    } catch {
      return undefined; // none made yet, or another process claimed it first
    }
    try {
      const file = await open(claimed, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const stats = await file.stat();
        const problem = !stats.isFile()
          ? 'not a regular file'
          : stats.size > MAX_FILE_BYTES
            ? 'too large'
            : notPrivate(stats, this.uid);
        if (problem) {
          this.logger.warn('key_cache.not_used', { file: join(this.folder, SPARE_KEYS_FILE), reason: problem });
          return undefined;
        }
        const parsed = spareFile.safeParse(JSON.parse(await file.readFile('utf8')));
        const keys = parsed.success ? (parsed.data.keys as PrivateSigningKey[]) : undefined;
        if (!keys || !SIGNING_ALGORITHMS.every((alg, i) => keys[i]?.alg === alg)) {
          this.logger.warn('key_cache.not_used', {
            file: join(this.folder, SPARE_KEYS_FILE),
            reason: 'not a generation of keys',
          });
          return undefined;
        }
        return keys;
      } finally {
        await file.close();
      }
    } catch (error) {
      const reason = error instanceof SyntaxError ? 'not JSON' : error instanceof Error ? error.message : String(error);
      this.logger.warn('key_cache.not_used', { file: join(this.folder, SPARE_KEYS_FILE), reason });
      return undefined;
    } finally {
      await unlink(claimed).catch(() => undefined);
    }
  }

  /** Make the next start's generation and put it in place (written aside, then renamed: never half a file). */
  async refill(): Promise<void> {
    if (!(await this.folderIsPrivate({ create: true }))) return;
    const aside = join(this.folder, `.spare-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      const keys = await makeGeneration();
      const file = await open(
        aside,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        await file.writeFile(`${JSON.stringify({ keys })}\n`);
      } finally {
        await file.close();
      }
      await rename(aside, join(this.folder, SPARE_KEYS_FILE));
    } catch (error) {
      await unlink(aside).catch(() => undefined);
      this.logger.warn('key_cache.not_written', {
        folder: this.folder,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private async folderIsPrivate(options: { create?: boolean } = {}): Promise<boolean> {
    try {
      if (options.create) await mkdir(this.folder, { recursive: true, mode: 0o700 });
      const stats = await lstat(this.folder);
      const problem = stats.isSymbolicLink()
        ? 'a symbolic link'
        : !stats.isDirectory()
          ? 'not a folder'
          : notPrivate(stats, this.uid);
      if (problem) {
        this.logger.warn('key_cache.not_used', { folder: this.folder, reason: problem });
        return false;
      }
      return true;
    } catch (error) {
      const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
      if (!missing) {
        this.logger.warn('key_cache.not_used', {
          folder: this.folder,
          reason: error instanceof Error ? error.message : String(error),
        });
      }
      return false;
    }
  }
}
