/**
 * The stored login: `~/.litellm/token.json` by default (docs/contract.md section 8), or
 * the path given by --token-file / LITELLM_PROXY_TOKEN_FILE. Written atomically (temp file in the
 * same directory, fsync, rename) so a crash or a parallel `cli-sso whoami` never sees half a file,
 * with mode 0600 in a 0700 directory because the file holds a bearer key.
 */
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
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

/**
 * What a PKCE-native login (`login --pkce`, docs/contract.md section 10.6) stores beyond the
 * classic fields, so `token` can renew the key and `logout` can revoke the grant. LiteLLM's own CLI
 * keeps the same facts (client id, token and revocation endpoints, resource) next to its key.
 */
export interface PkceGrant {
  refreshToken: string;
  clientId: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  resource: string;
}

/** A stored login: the classic fields, plus the grant when it came from `login --pkce`. */
export interface CliLogin extends StoredLogin {
  pkce?: PkceGrant | undefined;
}

/** Present together or not at all: a classic login has none of them. */
const pkceFieldsSchema = z.object({
  refresh_token: z.string().min(1, 'must be a non-empty string'),
  client_id: z.string().min(1, 'must be a non-empty string'),
  token_endpoint: z.string().url('must be a URL'),
  revocation_endpoint: z.string().url('must be a URL'),
  resource: z.string().min(1, 'must be a non-empty string'),
});

function parsePkceFields(body: unknown): PkceGrant | undefined {
  if (typeof body !== 'object' || body === null || !('refresh_token' in body)) return undefined;
  const result = pkceFieldsSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(file)';
    throw new Error(`token file: field "${field}" ${issue ? issue.message : 'is invalid'} (a PKCE login's field)`);
  }
  const w = result.data;
  return {
    refreshToken: w.refresh_token,
    clientId: w.client_id,
    tokenEndpoint: w.token_endpoint,
    revocationEndpoint: w.revocation_endpoint,
    resource: w.resource,
  };
}

function serializeLogin(login: CliLogin): Record<string, unknown> {
  const classic = serializeTokenFile(login);
  if (!login.pkce) return classic;
  return {
    ...classic,
    refresh_token: login.pkce.refreshToken,
    client_id: login.pkce.clientId,
    token_endpoint: login.pkce.tokenEndpoint,
    revocation_endpoint: login.pkce.revocationEndpoint,
    resource: login.pkce.resource,
  };
}

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
  async read(): Promise<CliLogin | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw new CliError('notLoggedIn', `cannot read the token file ${this.path} (${errorCode(error) ?? 'error'})`);
    }
    try {
      const body: unknown = JSON.parse(text);
      const login: CliLogin = parseTokenFile(body);
      const pkce = parsePkceFields(body);
      return pkce ? { ...login, pkce } : login;
    } catch (error) {
      const reason = error instanceof SyntaxError ? 'it is not JSON' : error instanceof Error ? error.message : '';
      throw new CliError(
        'notLoggedIn',
        `the token file ${this.path} is damaged: ${reason}`,
        'Run `cli-sso login` to replace it (or `cli-sso logout` to remove it).',
      );
    }
  }

  async write(login: CliLogin): Promise<void> {
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
      await handle.writeFile(`${JSON.stringify(serializeLogin(login), null, 2)}\n`, 'utf8');
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
  async remove(): Promise<{ login: CliLogin | undefined } | undefined> {
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
