/**
 * `node --expose-gc --import tsx scripts/bench-mock-idp-flows.ts [N] [--window W]`: does the mock
 * IdP stay as fast after N logins as at the first? Drives N authorization-code flows, one after the
 * other, in this process over real HTTP (authorize, the login page's "Sign in as" button, the code at
 * the redirect URI, the token request, userinfo), each with a fresh cookie jar as a new person's
 * browser would have, and prints the CPU time per flow (this process: the mock and the small client
 * driving it) for every window of W flows, and the live heap after it (after a full collection when
 * run with --expose-gc). The goal: the last window costs what the first did. 100 flows before the
 * first window warm the JIT up (they are not counted). Speed is measured here, never asserted in a
 * test.
 */
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI, startMockIdp } from '../mock-idp/index.ts';

const args = process.argv.slice(2);
const windowAt = args.indexOf('--window');
const WINDOW = windowAt >= 0 ? Number(args[windowAt + 1]) : 500;
const positional = args.filter((_arg, i) => i !== windowAt && i !== windowAt + 1);
const FLOWS = Number(positional[0] ?? 5000);
if (!Number.isInteger(FLOWS) || FLOWS < 1 || !Number.isInteger(WINDOW) || WINDOW < 1) {
  process.stderr.write('usage: bench-mock-idp-flows.ts [N flows, default 5000] [--window W, default 500]\n');
  process.exit(2);
}
/** Within this many percent of the first window counts as flat (the machine is shared and noisy). */
const FLAT_PERCENT = 25;

const idp = await startMockIdp({ host: '127.0.0.1', port: 0 });
const basic = `Basic ${Buffer.from(`${DEFAULT_CLIENT_ID}:${DEFAULT_CLIENT_SECRET}`).toString('base64')}`;

/** Just enough of a browser: cookies by name (the mock's paths never collide), redirects by hand. */
class Jar {
  private readonly cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair && at > 0) this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }
}

async function visit(jar: Jar, url: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(url, {
    ...init,
    headers: { ...init.headers, cookie: jar.header() },
    redirect: 'manual',
  });
  jar.take(response);
  return response;
}

/** Follow redirects until one leaves the IdP for the client's redirect URI; returns that URL. */
async function followToClient(jar: Jar, first: Response, from: string): Promise<URL> {
  let response = first;
  let url = from;
  for (let hop = 0; hop < 10; hop++) {
    const location = response.headers.get('location');
    await response.arrayBuffer();
    if (!location) throw new Error(`no redirect from ${new URL(url).pathname}: ${response.status}`);
    url = new URL(location, url).toString();
    if (url.startsWith(DEFAULT_REDIRECT_URI)) return new URL(url);
    response = await visit(jar, url);
  }
  throw new Error('too many redirects');
}

async function oneFlow(username: string): Promise<void> {
  const jar = new Jar();
  const authorize = new URL(idp.endpoints.authorization);
  authorize.search = new URLSearchParams({
    client_id: DEFAULT_CLIENT_ID,
    response_type: 'code',
    redirect_uri: DEFAULT_REDIRECT_URI,
    scope: 'openid email profile',
    state: 'bench',
  }).toString();
  const toLogin = await visit(jar, authorize.toString());
  const loginPath = toLogin.headers.get('location');
  await toLogin.arrayBuffer();
  if (!loginPath?.startsWith('/interaction/')) throw new Error(`no login page: ${toLogin.status}`);
  const page = await visit(jar, new URL(loginPath, idp.url).toString());
  await page.arrayBuffer();
  const loginUrl = new URL(`${loginPath}/login`, idp.url).toString();
  const signedIn = await visit(jar, loginUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ method: 'quick', username }).toString(),
  });
  const code = (await followToClient(jar, signedIn, loginUrl)).searchParams.get('code');
  if (!code) throw new Error('no code at the redirect URI');
  const token = await fetch(idp.endpoints.token, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: DEFAULT_REDIRECT_URI }),
  });
  const tokens: unknown = await token.json();
  const accessToken =
    typeof tokens === 'object' && tokens !== null && 'access_token' in tokens ? tokens.access_token : undefined;
  if (token.status !== 200 || typeof accessToken !== 'string') throw new Error(`token: ${token.status}`);
  const claims = await fetch(idp.endpoints.userinfo, { headers: { authorization: `Bearer ${accessToken}` } });
  await claims.arrayBuffer();
  if (claims.status !== 200) throw new Error(`userinfo: ${claims.status}`);
}

/** The live heap: after a full collection when node runs with --expose-gc, else whatever it is now. */
function heapAfterGc(): number {
  const gc: unknown = Reflect.get(globalThis, 'gc');
  if (typeof gc === 'function') gc();
  return process.memoryUsage().heapUsed;
}

const users = idp.users.usernames();
const WARM_UP = 100;
for (let i = 0; i < WARM_UP; i++) await oneFlow(users[i % users.length] ?? 'alice');
idp.reset();
const rows: Array<{ done: number; cpuMs: number; wallMs: number; heapMb: number }> = [];
process.stdout.write(`mock IdP code flows: ${FLOWS} flows, CPU per flow every ${WINDOW} flows\n`);
process.stdout.write(`${'flows done'.padStart(10)}  ${'CPU/flow'.padStart(10)}  ${'wall/flow'.padStart(10)}  heap\n`);
for (let done = 0; done < FLOWS; ) {
  const size = Math.min(WINDOW, FLOWS - done);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  for (let i = 0; i < size; i++) await oneFlow(users[(done + i) % users.length] ?? 'alice');
  const cpu = process.cpuUsage(cpuBefore);
  done += size;
  const row = {
    done,
    cpuMs: (cpu.user + cpu.system) / 1000 / size,
    wallMs: (performance.now() - wallBefore) / size,
    heapMb: heapAfterGc() / 2 ** 20,
  };
  rows.push(row);
  process.stdout.write(
    `${String(row.done).padStart(10)}  ${row.cpuMs.toFixed(2).padStart(7)} ms  ${row.wallMs.toFixed(2).padStart(7)} ms  ${row.heapMb.toFixed(0)} MB\n`,
  );
}
await idp.close();

const first = rows[0];
const last = rows.at(-1);
if (first && last && rows.length > 1) {
  const change = ((last.cpuMs - first.cpuMs) / first.cpuMs) * 100;
  process.stdout.write(
    `first ${WINDOW} flows: ${first.cpuMs.toFixed(2)} ms CPU/flow; after ${last.done}: ${last.cpuMs.toFixed(2)} ms ` +
      `(${change >= 0 ? '+' : ''}${change.toFixed(0)} %); flat within ${FLAT_PERCENT} %: ${Math.abs(change) <= FLAT_PERCENT ? 'yes' : 'NO'}\n`,
  );
}
