/**
 * One login as a CLI and a person would do it, without a browser, for the load script: start,
 * browser link (gateway -> mock IdP with login_hint -> gateway callback), code, poll. Every request
 * of a login comes from its own loopback address (127.x.y.z), as 1,000 people would come from 1,000
 * machines: the gateway's per-IP start limit (30 a minute) then judges each person, not the script.
 *
 * Requests to the public base URL go through `Balancer`, which stands in for a load balancer in front
 * of the replicas: round robin, and a replica that refuses connections is skipped for a while.
 *
 * Outcomes: `refused` (the start was answered 429/503: no login began), `ok` (a key), `lost` (a start
 * was admitted and no key came by the deadline), and each key's subject is checked against the IdP
 * user that signed in (`crossed` otherwise).
 */
import http from 'node:http';
import { parse as parseHtml } from 'node-html-parser';
import { CookieJar } from 'tough-cookie';
import { browserLoginUrl, CLI_SSO_PATHS, joinUrl, POLL_SECRET_HEADER } from '../../protocol/cli-sso.ts';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** When the request was handed to the operating system, whole (performance.now()). */
  sentAtMs: number;
}

/** A connection-level failure (refused, reset, timeout): what a load balancer retries elsewhere. */
export class ConnectionFailure extends Error {
  constructor(
    readonly target: string,
    readonly code: string,
  ) {
    super(`${code} from ${target}`);
  }
}

/** Round robin over live replicas; a replica whose connections fail is skipped for `deadMs`. */
export class Balancer {
  private next = 0;
  private readonly deadUntil = new Map<string, number>();

  constructor(
    readonly publicOrigin: string,
    readonly backends: readonly string[],
    private readonly deadMs = 2000,
  ) {}

  pick(): string {
    const now = performance.now();
    for (let i = 0; i < this.backends.length; i++) {
      const backend = this.backends[(this.next + i) % this.backends.length] as string;
      if ((this.deadUntil.get(backend) ?? 0) <= now) {
        this.next = (this.next + i + 1) % this.backends.length;
        return backend;
      }
    }
    // Every replica looks dead: try the next one anyway (it may be back).
    const backend = this.backends[this.next % this.backends.length] as string;
    this.next = (this.next + 1) % this.backends.length;
    return backend;
  }

  markDead(backend: string): void {
    this.deadUntil.set(backend, performance.now() + this.deadMs);
  }
}

const REQUEST_TIMEOUT_MS = 20_000;

/** One person's HTTP: their own source address, keep-alive connections, a cookie jar. */
export class Person {
  private readonly agent: http.Agent;
  readonly jar = new CookieJar();

  constructor(
    private readonly localAddress: string,
    private readonly balancer: Balancer,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * One request to `url`; a URL on the public origin goes to a replica picked by the balancer, and
   * is sent again to another replica when the connection fails before any answer (as a load
   * balancer does for a refused connection). A reset after the request was sent is not retried here.
   */
  async request(
    method: string,
    url: string,
    options: { headers?: Record<string, string>; body?: string; deadlineMs: number },
  ): Promise<Answer> {
    const target = new URL(url);
    const viaBalancer = target.origin === this.balancer.publicOrigin;
    for (;;) {
      const backend = viaBalancer ? this.balancer.pick() : target.origin;
      try {
        return await this.send(method, backend, target, options.headers ?? {}, options.body);
      } catch (error) {
        if (!(error instanceof ConnectionFailure) || !viaBalancer) throw error;
        this.balancer.markDead(backend);
        if (error.code !== 'ECONNREFUSED' || performance.now() > options.deadlineMs) throw error;
      }
    }
  }

  private send(
    method: string,
    backend: string,
    target: URL,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<Answer> {
    const to = new URL(backend);
    return new Promise((resolve, reject) => {
      let sentAtMs = Number.NaN;
      const req = http.request(
        {
          host: to.hostname,
          port: to.port,
          method,
          path: `${target.pathname}${target.search}`,
          localAddress: this.localAddress,
          agent: this.agent,
          headers: {
            host: target.host,
            ...headers,
            ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }),
          },
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
              sentAtMs,
            }),
          );
          res.on('error', (error: NodeJS.ErrnoException) =>
            reject(new ConnectionFailure(backend, error.code ?? 'ERESET')),
          );
        },
      );
      req.once('finish', () => {
        sentAtMs = performance.now();
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => reject(new ConnectionFailure(backend, error.code ?? 'ERROR')));
      req.end(body);
    });
  }

  /** A browser GET that follows redirects with the cookie jar; `rewrite` may change a hop's URL. */
  async browse(url: string, deadlineMs: number, rewrite: (url: URL) => URL): Promise<Answer & { url: string }> {
    let current = url;
    for (let hop = 0; hop < 20; hop++) {
      const cookie = await this.jar.getCookieString(current);
      const answer = await this.request('GET', current, { headers: cookie ? { cookie } : {}, deadlineMs });
      const setCookies = answer.headers['set-cookie'] ?? [];
      for (const line of setCookies) await this.jar.setCookie(line, current, { ignoreError: true });
      const location = answer.headers.location;
      if (answer.status >= 300 && answer.status < 400 && location) {
        current = rewrite(new URL(location, current)).toString();
        continue;
      }
      return { ...answer, url: current };
    }
    throw new Error('more than 20 redirects');
  }
}

export type Outcome =
  | { kind: 'refused'; status: number; retryAfter: string | undefined; detail: string }
  | {
      kind: 'ok';
      key: string;
      jti: string | undefined;
      startToKeyMs: number;
      /** Milliseconds spent in each part: start answer, browser (link to form), code post, polls. */
      steps: { start: number; browser: number; complete: number; poll: number };
      browserAttempts: number;
      pollRetries: number;
    }
  | { kind: 'lost'; reason: string; startToEndMs: number }
  | { kind: 'crossed'; expectedUser: string; gotUser: string };

export interface LoginOptions {
  person: Person;
  publicBaseUrl: string;
  username: string;
  /** When no key has come by then (monotonic ms), the login is lost. */
  deadlineMs: number;
  /** Try a refused start again after its Retry-After, until the deadline. */
  retryRefused: boolean;
  onStarted?: () => void;
}

/** A 5xx or a connection failure: a CLI (or a person) tries again. */
function isTransient(error: unknown, answer?: Answer): boolean {
  if (error !== undefined) return error instanceof ConnectionFailure;
  return answer !== undefined && answer.status >= 500;
}

/**
 * How long the CLI waits before polling again after a failed poll, as the reference CLI does (1 s
 * at the soonest; LiteLLM's polls every 2 s). Sooner than the gateway's key-claim lease (500 ms), a
 * poll retried after a connection reset that lost the key's answer is one of "several polls at once"
 * and gets 400 (CLISSO-POLL-11): with 250 ms, 4 of 1,000 logins were lost that way when a replica
 * was killed.
 */
const POLL_RETRY_MS = 1000;

/** How often a person opens the link again after a 4xx before leaving it to the CLI's poll. */
const MAX_BROWSER_ATTEMPTS = 3;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runLogin(options: LoginOptions): Promise<Outcome> {
  const { person, publicBaseUrl, username, deadlineMs } = options;
  // ---- start: the only step that may be refused
  let started: { loginId: string; pollSecret: string; userCode: string } | undefined;
  let startedAtMs = 0;
  for (;;) {
    startedAtMs = performance.now();
    let answer: Answer;
    try {
      answer = await person.request('POST', joinUrl(publicBaseUrl, CLI_SSO_PATHS.start), { deadlineMs });
    } catch (error) {
      // No answer to a start: no login began here; a CLI says so and tries again.
      if (performance.now() < deadlineMs && error instanceof ConnectionFailure) {
        await pause(200);
        continue;
      }
      return { kind: 'refused', status: 0, retryAfter: undefined, detail: String(error) };
    }
    if (answer.status === 200) {
      // Timed from when the start was on the wire: this one process stands in for a thousand
      // machines, and sending a burst of starts takes it up to a second of its own CPU; that wait is
      // the simulator's, not the gateway's.
      if (Number.isFinite(answer.sentAtMs)) startedAtMs = answer.sentAtMs;
      const body = JSON.parse(answer.body) as { login_id: string; poll_secret: string; user_code: string };
      started = { loginId: body.login_id, pollSecret: body.poll_secret, userCode: body.user_code };
      break;
    }
    const retryAfter = headerValue(answer.headers['retry-after']);
    if (options.retryRefused && performance.now() < deadlineMs && (answer.status === 429 || answer.status >= 500)) {
      await pause(Math.max(1, Number(retryAfter ?? '1')) * 1000 * (0.5 + Math.random()));
      continue;
    }
    return { kind: 'refused', status: answer.status, retryAfter, detail: detailOf(answer) };
  }
  options.onStarted?.();
  const steps = { start: performance.now() - startedAtMs, browser: 0, complete: 0, poll: 0 };

  // ---- the person's part: open the link, sign in (login_hint), confirm the code. A failure on the way
  // (5xx, a replica gone) makes them open the link again, as a person reloads.
  let browserAttempts = 0;
  let lastProblem = '';
  let confirmed = false;
  while (!confirmed && performance.now() < deadlineMs) {
    browserAttempts++;
    try {
      const browserStartMs = performance.now();
      const page = await person.browse(browserLoginUrl(publicBaseUrl, started.loginId), deadlineMs, (url) => {
        if (url.pathname.endsWith('/authorize') && url.origin !== new URL(publicBaseUrl).origin) {
          url.searchParams.set('login_hint', username);
        }
        return url;
      });
      if (page.status !== 200) {
        lastProblem = `browser: HTTP ${page.status} at ${new URL(page.url).pathname}: ${detailOf(page).slice(0, 160)}`;
        // A 400 after a lost answer (the IdP code already used, the code already confirmed): the
        // person tries the link again a few times, then the poll says how the login stands.
        if (page.status < 500 && browserAttempts >= MAX_BROWSER_ATTEMPTS) break;
        await pause(300);
        continue;
      }
      steps.browser += performance.now() - browserStartMs;
      const completeStartMs = performance.now();
      const form = readForm(page.body, page.url);
      const cookie = await person.jar.getCookieString(form.action);
      const done = await person.request('POST', form.action, {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(cookie ? { cookie } : {}),
        },
        body: new URLSearchParams({
          user_code: started.userCode,
          browser_complete_token: form.token,
        }).toString(),
        deadlineMs,
      });
      steps.complete += performance.now() - completeStartMs;
      if (done.status === 200) confirmed = true;
      else {
        lastProblem = `complete: HTTP ${done.status}: ${detailOf(done).slice(0, 160)}`;
        if (done.status < 500 && browserAttempts >= MAX_BROWSER_ATTEMPTS) break;
        await pause(300);
      }
    } catch (error) {
      lastProblem = `browser: ${error instanceof Error ? error.message : String(error)}`;
      if (!isTransient(error)) break;
      await pause(300);
    }
  }

  // ---- the CLI polls until the key comes, retrying 5xx and connection failures
  let pollRetries = 0;
  const pollStartMs = performance.now();
  const pollUrl = joinUrl(publicBaseUrl, CLI_SSO_PATHS.poll(started.loginId));
  while (performance.now() < deadlineMs) {
    let answer: Answer;
    try {
      answer = await person.request('GET', pollUrl, {
        headers: { [POLL_SECRET_HEADER]: started.pollSecret, prefer: 'wait=5' },
        deadlineMs,
      });
    } catch (error) {
      pollRetries++;
      lastProblem = `poll: ${error instanceof Error ? error.message : String(error)}`;
      await pause(POLL_RETRY_MS);
      continue;
    }
    if (answer.status >= 500) {
      pollRetries++;
      lastProblem = `poll: HTTP ${answer.status}: ${detailOf(answer).slice(0, 160)}`;
      await pause(POLL_RETRY_MS);
      continue;
    }
    if (answer.status !== 200) {
      return {
        kind: 'lost',
        reason: `poll: HTTP ${answer.status}: ${detailOf(answer).slice(0, 160)} (before: ${lastProblem || 'nothing'})`,
        startToEndMs: performance.now() - startedAtMs,
      };
    }
    const body = JSON.parse(answer.body) as { status: string; key?: string; user_id?: string };
    if (body.status !== 'ready' || typeof body.key !== 'string') continue;
    const claims = decodeJwtPayload(body.key);
    const subject = typeof claims['sub'] === 'string' ? claims['sub'] : body.user_id;
    if (subject !== username || body.user_id !== username) {
      return { kind: 'crossed', expectedUser: username, gotUser: String(subject ?? body.user_id) };
    }
    return {
      kind: 'ok',
      key: body.key,
      jti: typeof claims['jti'] === 'string' ? claims['jti'] : undefined,
      startToKeyMs: performance.now() - startedAtMs,
      steps: { ...steps, poll: performance.now() - pollStartMs },
      browserAttempts,
      pollRetries,
    };
  }
  return {
    kind: 'lost',
    reason: `no key by the deadline (last: ${lastProblem || 'pending'})`,
    startToEndMs: performance.now() - startedAtMs,
  };
}

function readForm(html: string, pageUrl: string): { action: string; token: string } {
  const root = parseHtml(html);
  const form = root.querySelectorAll('form').find((f) => f.querySelector('input[name="user_code"]'));
  const token = form?.querySelector('input[name="browser_complete_token"]')?.getAttribute('value');
  if (!form || !token) throw new Error('the callback page has no completion form');
  return { action: new URL(form.getAttribute('action') ?? '', pageUrl).toString(), token };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The `detail` of an error body, else the start of the body; never a secret (errors carry none). */
function detailOf(answer: Answer): string {
  try {
    const parsed = JSON.parse(answer.body) as { detail?: unknown };
    if (typeof parsed.detail === 'string') return parsed.detail;
  } catch {
    // not JSON: an HTML page
  }
  return answer.body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

function decodeJwtPayload(token: string): Record<string, unknown> {
  try {
    const payload = token.split('.')[1] ?? '';
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}
