/**
 * Tasks: judging a CLI by what is observable, never by its exit code alone or by our own CLI's
 * habits (requirements CLISSO-CLI-10, -11, -13).
 *
 * - A login succeeded when the wire shows that the gateway handed this CLI a key AND the CLI's next
 *   authenticated command sends that very key.
 * - A logout succeeded when the CLI no longer sends the key and no file under its HOME holds it.
 * - Where a CLI keeps its key is its own business (a token file, the OS keychain) as long as no one
 *   else can read it.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Exchange } from '../drivers/wire-tap.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { MODELS_PATH, POLL_PATH, START_PATH } from './gateway-stand-in.ts';

/** Keys the gateway handed to the CLI, in the order the polls were answered. */
export function keysHandedOut(world: ConformanceWorld): string[] {
  return world.tap.exchangesTo('GET', POLL_PATH).flatMap((e) => {
    if (e.status !== 200) return [];
    const body = parseObject(e.responseBody);
    return typeof body?.key === 'string' && body.key !== '' ? [body.key] : [];
  });
}

/**
 * Access tokens the gateway's token endpoint (PKCE-native login, section 10.6; `tokenPath` is its
 * path on the gateway) handed to the CLI, in order.
 */
export function keysFromTokenEndpoint(world: ConformanceWorld, tokenPath: string): string[] {
  return world.tap.exchanges.flatMap((e) => {
    if (e.method !== 'POST' || e.route.replace(/\/+$/, '') !== tokenPath.replace(/\/+$/, '')) return [];
    if (e.status !== 200) return [];
    const body = parseObject(e.responseBody);
    return typeof body?.access_token === 'string' && body.access_token !== '' ? [body.access_token] : [];
  });
}

/** The last poll answer that handed the CLI a key, as the gateway sent it. */
export async function readyAnswerOnWire(world: ConformanceWorld): Promise<Record<string, unknown>> {
  const key = await lastKeyHandedOut(world);
  const answer = world.tap
    .exchangesTo('GET', POLL_PATH)
    .map((e) => (e.status === 200 ? parseObject(e.responseBody) : undefined))
    .findLast((body) => body?.key === key);
  assert.ok(answer, 'no poll answer handed out the key');
  return answer;
}

/**
 * From the start of the CLI's first login to now, in unix seconds, a second wider each side (a CLI
 * may round its time down, or write it a moment after the answer): a login's timestamp lies within.
 */
export function loginWindowSeconds(world: ConformanceWorld): { fromS: number; toS: number } {
  const start = world.tap.exchangesTo('POST', START_PATH)[0];
  assert.ok(start, 'the CLI never started a login');
  return { fromS: Math.floor(start.startedAtMs / 1000) - 1, toS: Math.ceil(Date.now() / 1000) + 1 };
}

/** The poll secrets the gateway gave the CLI. */
export function pollSecretsHandedOut(world: ConformanceWorld): string[] {
  return world.tap.exchangesTo('POST', START_PATH).flatMap((e) => {
    const body = parseObject(e.responseBody);
    return typeof body?.poll_secret === 'string' ? [body.poll_secret] : [];
  });
}

/** The last key the gateway handed out; fails with the CLI's own words when there is none. */
export async function lastKeyHandedOut(world: ConformanceWorld): Promise<string> {
  const keys = keysHandedOut(world);
  const cli = await world.cli();
  assert.ok(
    keys.length > 0,
    `the gateway never handed this CLI a key (${world.tap.exchangesTo('GET', POLL_PATH).length} polls seen)\n${cli.lastWords()}`,
  );
  return keys.at(-1) as string;
}

/** The bearer token of a request, if it carried one (`Authorization: Bearer <token>`, any case). */
export function bearerOf(exchange: Exchange): string | undefined {
  return /^bearer\s+(\S+)\s*$/i.exec(exchange.requestHeaders.authorization ?? '')?.[1];
}

/**
 * Run `<cli> models list` and return the requests it made to the model routes, from `since` (an
 * index into the tap's exchanges) on.
 */
export async function listModelsWithCli(world: ConformanceWorld): Promise<{ requests: Exchange[]; output: string }> {
  const cli = await world.cli();
  const since = world.tap.exchanges.length;
  const result = await cli.run(['models', 'list']);
  world.cliResult = result;
  const requests = world.tap.exchanges.slice(since).filter((e) => MODELS_PATH.test(e.route));
  return { requests, output: `${result.stdout}${result.stderr}` };
}

/** The login is proven on the wire: a key was handed out and the CLI's next command sends it. */
export async function proveLoginOnWire(world: ConformanceWorld): Promise<string> {
  const key = await lastKeyHandedOut(world);
  const { requests } = await listModelsWithCli(world);
  const cli = await world.cli();
  assert.ok(
    requests.length > 0,
    `after the login, "models list" made no request to /models or /v1/models\n${cli.lastWords()}`,
  );
  assert.ok(
    requests.some((r) => bearerOf(r) === key),
    `after the login, "models list" did not send the key the gateway handed out as "Authorization: Bearer" ` +
      `(it sent ${describeCredentials(requests, key)})\n${cli.lastWords()}`,
  );
  return key;
}

/** What the requests carried instead of the key, without showing any secret. */
export function describeCredentials(requests: readonly Exchange[], key: string): string {
  return requests
    .map((r) => {
      const bearer = bearerOf(r);
      if (bearer === undefined) {
        const names = Object.keys(r.requestHeaders).filter((n) => /auth|key|token/i.test(n));
        return names.length > 0 ? `no bearer token, but headers ${names.join(', ')}` : 'no credential at all';
      }
      return bearer === key ? 'the key' : 'another bearer token';
    })
    .join('; ');
}

export interface FileHoldingKey {
  path: string;
  mode: number;
}

/**
 * Files under HOME that hold `secret` (a CLI may keep its key anywhere there): its bytes as they
 * are, or base64-encoded (standard or URL-safe, padding and line breaks aside), as keyring's
 * plain-file backend (keyrings.alt's PlaintextKeyring, `keyring_pass.cfg`) stores a password: an
 * encoding anyone can undo is no protection.
 */
export async function filesHolding(home: string, secret: string): Promise<FileHoldingKey[]> {
  const found: FileHoldingKey[] = [];
  const encoded = [
    Buffer.from(secret).toString('base64').replace(/=+$/, ''),
    Buffer.from(secret).toString('base64url'),
  ];
  const holds = (bytes: Buffer): boolean => {
    if (bytes.includes(secret)) return true;
    const compact = bytes.toString('latin1').replace(/\s+/g, '');
    return encoded.some((e) => compact.includes(e));
  };
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 8) return;
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, depth + 1);
      else if (entry.isFile()) {
        const info = await stat(path);
        if (info.size > 16 << 20) continue;
        const bytes = await readFile(path).catch(() => undefined);
        if (bytes && holds(bytes)) found.push({ path, mode: info.mode & 0o777 });
      }
    }
  };
  await walk(home, 0);
  return found;
}

/**
 * Files the CLI may have left holding `secret`: under its HOME and under the TMPDIR it was given (a
 * key cached in the temporary folder, /tmp for most, is as exposed as one under HOME).
 */
export async function cliFilesHolding(world: ConformanceWorld, secret: string): Promise<FileHoldingKey[]> {
  const [home, tmp] = await Promise.all([filesHolding(world.home, secret), filesHolding(world.cliTmpDir, secret)]);
  return [...home, ...tmp];
}

/** LiteLLM's token file under the CLI's HOME (protocol section 8). */
export function tokenFilePath(world: ConformanceWorld): string {
  return join(world.home, '.litellm', 'token.json');
}

/**
 * A `~/.litellm/token.json` as an older CLI (or an old umask) left it: mode 0644 in a 0755 folder,
 * holding a login of its own. Writing the new key into that file in place (a `mode` given to
 * open/writeFile applies only when the file is created) leaves the key readable by all (CLISSO-CLI-11).
 */
export async function seedReadableTokenFile(world: ConformanceWorld): Promise<void> {
  await world.cli(); // the wire tap, whose address the older login names, comes with the CLI
  const path = tokenFilePath(world);
  await mkdir(join(world.home, '.litellm'), { recursive: true, mode: 0o755 });
  const older = {
    base_url: world.tap.url,
    key: 'sk-older-cli-login-0000000000000000',
    user_id: 'older-user',
    timestamp: Math.floor(Date.now() / 1000) - 86_400,
  };
  await writeFile(path, `${JSON.stringify(older, null, 2)}\n`, { mode: 0o644 });
  await chmod(path, 0o644);
}

/** The token file as JSON, or undefined when the CLI did not write one. */
export async function readTokenFile(world: ConformanceWorld): Promise<Record<string, unknown> | undefined> {
  const text = await readFile(tokenFilePath(world), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = parseObject(text);
  assert.ok(parsed, `${tokenFilePath(world)} does not hold a JSON object`);
  return parsed;
}

/** Shown instead of a path under the scenario's temporary HOME. */
export function underHome(world: ConformanceWorld, path: string): string {
  if (world.cliTmpDir && path.startsWith(world.cliTmpDir)) return `$TMPDIR${path.slice(world.cliTmpDir.length)}`;
  return path.startsWith(world.home) ? `~${path.slice(world.home.length)}` : path;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
