/**
 * The stored login: `~/.litellm/token.json` by default (docs/contract.md section 8), or
 * the path given by --token-file / LITELLM_PROXY_TOKEN_FILE. Written atomically (temp file in the
 * same directory, fsync, rename) so a crash or a parallel `cli-sso whoami` never sees half a file,
 * with mode 0600 in a 0700 directory because the file holds a bearer key.
 */
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  parseTokenFile,
  type StoredLogin,
  serializeTokenFile,
  TOKEN_DIR_MODE,
  TOKEN_FILE_DIR,
  TOKEN_FILE_MODE,
  TOKEN_FILE_NAME,
} from '../protocol/token-file.ts';
import { CliError } from './exit-codes.ts';

export function defaultTokenFilePath(home: string): string {
  return join(home, TOKEN_FILE_DIR, TOKEN_FILE_NAME);
}

export class TokenStore {
  constructor(
    readonly path: string,
    /**
     * True for the default `~/.litellm/token.json`: its directory is ours, so it is forced to 0700.
     * A directory chosen with --token-file may be shared (/tmp): it is created 0700 when missing
     * but an existing one is left alone.
     */
    private readonly ownsDirectory: boolean,
  ) {}

  /** The stored login, or undefined when there is none. A damaged file is "not logged in". */
  async read(): Promise<StoredLogin | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw new CliError('notLoggedIn', `cannot read the token file ${this.path} (${errorCode(error) ?? 'error'})`);
    }
    try {
      return parseTokenFile(JSON.parse(text));
    } catch (error) {
      const reason = error instanceof SyntaxError ? 'it is not JSON' : error instanceof Error ? error.message : '';
      throw new CliError(
        'notLoggedIn',
        `the token file ${this.path} is damaged: ${reason}`,
        'Run `cli-sso login` to replace it (or `cli-sso logout` to remove it).',
      );
    }
  }

  async write(login: StoredLogin): Promise<void> {
    const directory = dirname(this.path);
    await mkdir(directory, { recursive: true, mode: TOKEN_DIR_MODE });
    if (this.ownsDirectory) await chmod(directory, TOKEN_DIR_MODE);
    // node:crypto (~15 modules of Node's own, 3 ms of CPU) is loaded when a login is stored, not at
    // every start. Through require: an import() would need a loader callback in a bundle compiled
    // through node:vm, as the conformance harness runs it.
    const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    const temporary = join(directory, `.${TOKEN_FILE_NAME}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temporary, 'wx', TOKEN_FILE_MODE);
    try {
      await handle.writeFile(`${JSON.stringify(serializeTokenFile(login), null, 2)}\n`, 'utf8');
      // The umask may have narrowed the mode further but never widened it; make it exact.
      await handle.chmod(TOKEN_FILE_MODE);
      await handle.sync();
      await handle.close();
      await rename(temporary, this.path);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /** Remove the stored login; returns what was removed, undefined when nothing was there. */
  async remove(): Promise<{ login: StoredLogin | undefined } | undefined> {
    const exists = await stat(this.path).then(
      () => true,
      (error: unknown) => (errorCode(error) === 'ENOENT' ? false : Promise.reject(error)),
    );
    if (!exists) return undefined;
    const login = await this.read().catch(() => undefined);
    await rm(this.path, { force: true });
    return { login };
  }
}

function errorCode(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
