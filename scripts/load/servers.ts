/**
 * What `npm run load` and the bench's logins-per-core figure share: the mock IdP and the reference
 * gateway started as processes of their own (from the TypeScript through tsx, or as shipped from
 * dist/), the users file with one IdP user per login, the gateway's environment, each person's
 * loopback address, a warm-up, and the tally of what happened to a batch of logins.
 *
 * Starting a process is the caller's (`Launch`): the load script keeps every process's log in its
 * work folder, the bench pins each server to a core; both start `node` directly so the PID is the
 * server's own.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Balancer, type Outcome, Person, runLogin } from './client.ts';

/**
 * Where a server's code comes from: `source` runs the TypeScript through tsx (a checkout as it is
 * edited), `dist` runs the compiled JavaScript of `npm run build` (what the npm package ships).
 */
export type RunFrom = 'source' | 'dist';

export type ServerName = 'mock-idp' | 'reference-proxy';

/** The line each server prints once it listens; group 1 is its URL. */
export const READY: Record<ServerName, RegExp> = {
  'mock-idp': /listening on (http:\/\/\S+)/,
  'reference-proxy': /"url":"(http:\/\/[^"]+)"/,
};

/** The command line that runs `server` from `from`, `args` appended. */
export function serverCommand(
  root: string,
  server: ServerName,
  from: RunFrom,
  args: readonly string[],
): { command: string; args: string[] } {
  if (from === 'source') {
    return { command: process.execPath, args: ['--import', 'tsx', join(root, server, 'main.ts'), ...args] };
  }
  const compiled = join(root, 'dist', server, 'main.js');
  if (!existsSync(compiled)) throw new Error(`${compiled} does not exist: run npm run build first`);
  return { command: process.execPath, args: [compiled, ...args] };
}

/** Starts one process and resolves once its output matches `ready` (with the match). */
export type Launch<P> = (
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
) => Promise<{ process: P; match: RegExpExecArray }>;

export interface Started<P> {
  process: P;
  url: string;
}

/** The mock IdP on a free port of 127.0.0.1, its users from `usersFile`. */
export async function startMockIdp<P>(
  launch: Launch<P>,
  options: { root: string; from: RunFrom; usersFile: string; env: Record<string, string> },
): Promise<Started<P>> {
  const { command, args } = serverCommand(options.root, 'mock-idp', options.from, [
    '--port',
    '0',
    '--users',
    options.usersFile,
  ]);
  const { process: started, match } = await launch('mock-idp', command, args, options.env, READY['mock-idp']);
  return { process: started, url: match[1] as string };
}

/** One reference gateway on a free port of 127.0.0.1 (its settings in `env`: `gatewayEnvironment`). */
export async function startGateway<P>(
  launch: Launch<P>,
  options: { root: string; from: RunFrom; name: string; env: Record<string, string> },
): Promise<Started<P>> {
  const { command, args } = serverCommand(options.root, 'reference-proxy', options.from, ['--port', '0']);
  const { process: started, match } = await launch(options.name, command, args, options.env, READY['reference-proxy']);
  return { process: started, url: match[1] as string };
}

/** A users file with one verified user per name (the login with `login_hint=<name>` signs in as them). */
export function writeUsersFile(path: string, usernames: readonly string[]): void {
  writeFileSync(
    path,
    JSON.stringify({
      users: usernames.map((username) => ({
        username,
        claims: { preferred_username: username, email: `${username}@example.com`, email_verified: true },
      })),
    }),
  );
}

/** `count` names `<prefix>-00001`, `<prefix>-00002`... */
export function numberedNames(prefix: string, count: number, digits = 5): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(digits, '0')}`);
}

export interface GatewaySetup {
  /** PATH and HOME: what a server needs of the caller's environment. */
  baseEnv: Record<string, string>;
  idpUrl: string;
  /** The address people use (PROXY_BASE_URL, the redirect URI); the client's balancer routes it. */
  publicOrigin: string;
  masterKey: string;
  redisUrl?: string | undefined;
  /** PostgreSQL for the users; else SQLite at `sqlitePath`. */
  databaseUrl?: string | undefined;
  sqlitePath: string;
  /** Extra settings, last so they win (NAME -> value). */
  extra?: Record<string, string>;
}

/** The gateway's environment: the mock IdP as its generic OIDC provider, flows in Redis when given. */
export function gatewayEnvironment(setup: GatewaySetup): Record<string, string> {
  return {
    ...setup.baseEnv,
    LITELLM_MASTER_KEY: setup.masterKey,
    EXPERIMENTAL_UI_LOGIN: 'true',
    GENERIC_CLIENT_ID: 'litellm-cli-test',
    GENERIC_CLIENT_SECRET: 'litellm-cli-test-secret',
    GENERIC_AUTHORIZATION_ENDPOINT: `${setup.idpUrl}/authorize`,
    GENERIC_TOKEN_ENDPOINT: `${setup.idpUrl}/token`,
    GENERIC_USERINFO_ENDPOINT: `${setup.idpUrl}/userinfo`,
    PROXY_BASE_URL: setup.publicOrigin,
    LOG_LEVEL: 'info',
    ...(setup.redisUrl ? { REDIS_URL: setup.redisUrl } : {}),
    ...(setup.databaseUrl ? { DATABASE_URL: setup.databaseUrl } : { REFERENCE_PROXY_SQLITE_PATH: setup.sqlitePath }),
    ...setup.extra,
  };
}

/**
 * The loopback address of person `n` (1-based), 127.1.0.1 onwards: each login comes from its own
 * machine, so the gateway's per-IP start limit judges people, not the script.
 */
export function personAddress(n: number): string {
  return `127.${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * Logins done one at a time before a measurement, not counted: a gateway that has been running (code
 * compiled, connections open). Warm-up person `i` comes from 127.200.0.<i + 1>.
 */
export async function warmUp(balancer: Balancer, publicOrigin: string, usernames: readonly string[]): Promise<void> {
  for (const [i, username] of usernames.entries()) {
    const person = new Person(`127.200.${(i + 1) >> 8}.${(i + 1) & 255}`, balancer);
    const outcome = await runLogin({
      person,
      publicBaseUrl: publicOrigin,
      username,
      deadlineMs: performance.now() + 30_000,
      retryRefused: true,
    });
    person.close();
    if (outcome.kind !== 'ok') throw new Error(`warm-up login ${i + 1} failed: ${JSON.stringify(outcome)}`);
  }
}

/** The value at or below which `p` % of the sorted samples fall (nearest rank); 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export interface Tally {
  ok: Extract<Outcome, { kind: 'ok' }>[];
  refused: Extract<Outcome, { kind: 'refused' }>[];
  lost: Extract<Outcome, { kind: 'lost' }>[];
  crossed: Extract<Outcome, { kind: 'crossed' }>[];
  /** Keys (or key ids) handed to more than one login. */
  duplicated: number;
  /** Start to key of the ok logins, in ms, ascending. */
  latencies: number[];
}

/** What happened to a batch of logins: each outcome by kind, and keys handed out twice. */
export function tallyOutcomes(outcomes: readonly Outcome[]): Tally {
  const ok = outcomes.filter((o) => o.kind === 'ok');
  const seen = new Set<string>();
  let duplicated = 0;
  for (const o of ok) {
    const id = o.jti ?? o.key;
    if (seen.has(o.key) || seen.has(id)) duplicated++;
    seen.add(o.key);
    seen.add(id);
  }
  return {
    ok,
    refused: outcomes.filter((o) => o.kind === 'refused'),
    lost: outcomes.filter((o) => o.kind === 'lost'),
    crossed: outcomes.filter((o) => o.kind === 'crossed'),
    duplicated,
    latencies: ok.map((o) => o.startToKeyMs).sort((a, b) => a - b),
  };
}
