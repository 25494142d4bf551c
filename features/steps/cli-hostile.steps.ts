/**
 * Steps of the CLI chapter: a hostile or broken gateway (escape sequences, a flood, made-up browser
 * links, a path prefix), played by the harness standing between the CLI and the real gateway. The
 * secrets a hostile gateway tries to get printed are in cli-secrets.steps.ts.
 */
import assert from 'node:assert/strict';
import { Given, Then } from '@cucumber/cucumber';
import type { Exchange } from '../drivers/wire-tap.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { currentCliLogin } from '../tasks/cli-login.ts';
import {
  answerNext,
  answerPolls,
  CLI_REQUESTS,
  floodNext,
  HOSTILE_ESCAPE_MARKERS,
  isCliRequestName,
  rewriteModelLists,
  rewritePollAnswers,
  rewriteStartAnswer,
  rewriteUserInfo,
  START_PATH,
  withHostileEscapes,
} from '../tasks/gateway-stand-in.ts';

const MIB = 1 << 20;
/** A CLI that asks again after an answer it could not use does so within its poll pause (LiteLLM: 2 s). */
const ASKED_AGAIN_WAIT_MS = 5_000;
/** A CLI that opens a browser does it right after printing the URL; this is ample. */
const BROWSER_OPENING_WAIT_MS = 5_000;

/**
 * A team the gateway adds to every list it sends, its id and its name both hostile: a CLI that lists
 * the teams shows it (the person then picks another one).
 */
const HOSTILE_TEAM_ID = withHostileEscapes('team-gamma');

Given(
  "the gateway's answers to the CLI carry terminal escape sequences in the user id, the team ids and the team names",
  async function (this: ConformanceWorld) {
    await rewritePollAnswers(this, 'escape sequences in user id, team ids and team names', (body) => {
      const details = Array.isArray(body.team_details) ? body.team_details : [];
      const teams = Array.isArray(body.teams) ? body.teams : [];
      const listed = teams.length > 0 || details.length > 0;
      return {
        ...body,
        ...(typeof body.user_id === 'string' ? { user_id: withHostileEscapes(body.user_id) } : {}),
        ...(listed ? { teams: [...teams, HOSTILE_TEAM_ID] } : {}),
        team_details: [
          ...details.map((d: unknown) =>
            typeof d === 'object' && d !== null
              ? { ...d, team_alias: withHostileEscapes(String((d as Record<string, unknown>).team_alias ?? 'Team')) }
              : d,
          ),
          ...(listed ? [{ team_id: HOSTILE_TEAM_ID, team_alias: withHostileEscapes('Gamma') }] : []),
        ],
      };
    });
  },
);

Given(
  "the gateway's ready answer carries terminal escape sequences in the email and the role, in its fields and in the key's claims",
  async function (this: ConformanceWorld) {
    const email = withHostileEscapes('cli-test@example.com');
    const role = withHostileEscapes('internal_user');
    await rewritePollAnswers(this, 'escape sequences in email and role', (body) =>
      body.status === 'ready' && typeof body.key === 'string' && body.requires_team_selection !== true
        ? { ...body, key: keyWithClaims(body.key, { email, user_role: role }), user_email: email, user_role: role }
        : body,
    );
    // A CLI may ask the gateway who it is instead.
    await rewriteUserInfo(this, 'escape sequences in email and role', (body) => {
      const info = typeof body.user_info === 'object' && body.user_info !== null ? body.user_info : {};
      return { ...body, user_info: { ...info, user_email: email, user_role: role } };
    });
  },
);

/**
 * A JWT-shaped key whose claims say what the scenario wants (a CLI reads a JWT key's claims without
 * verifying them: only the gateway can). Its other claims are the real key's, when it is a JWT.
 */
function keyWithClaims(key: string, claims: Record<string, string>): string {
  const [, payload] = key.split('.');
  let original: Record<string, unknown> = { sub: 'cli-test-user' };
  try {
    original = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    // An opaque key: the claims are all the scenario's.
  }
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...original, ...claims })}.${part('not-a-signature')}`;
}

Given(
  "the gateway answers the CLI's start with {int} carrying terminal escape sequences in its detail",
  async function (this: ConformanceWorld, status: number) {
    await answerNext(this, 'start', 1, status, { detail: withHostileEscapes('CLI login is switched off') });
  },
);

Given(
  "the gateway answers the CLI's next {int} model lists with {int} and then every one with {int}, each detail carrying terminal escape sequences",
  async function (this: ConformanceWorld, times: number, first: number, then: number) {
    const body = {
      detail: withHostileEscapes('the model list is not available'),
      error: { message: withHostileEscapes('no models') },
    };
    await answerNext(this, 'model list', times, first, body);
    await answerNext(this, 'model list', Number.POSITIVE_INFINITY, then, body);
  },
);

Given(
  'the gateway answers every poll of the CLI with {int} carrying terminal escape sequences in its detail',
  async function (this: ConformanceWorld, status: number) {
    await answerPolls(this, Number.POSITIVE_INFINITY, status, {
      detail: withHostileEscapes('Invalid CLI polling secret'),
    });
  },
);

Given(
  "the gateway's model list carries terminal escape sequences in the model ids",
  async function (this: ConformanceWorld) {
    await rewriteModelLists(this, 'escape sequences in model ids', (body) => ({
      ...body,
      data: (Array.isArray(body.data) ? body.data : []).map((m: unknown) =>
        typeof m === 'object' && m !== null
          ? { ...m, id: withHostileEscapes(String((m as Record<string, unknown>).id)) }
          : m,
      ),
    }));
  },
);

Then('none of the escape sequences the gateway sent reached the terminal', async function (this: ConformanceWorld) {
  const cli = await this.cli();
  const output = cli.runs.map((r) => r.transcript).join('\n');
  const reached = HOSTILE_ESCAPE_MARKERS.filter((marker) => output.includes(marker));
  assert.deepEqual(
    reached.map((m) => JSON.stringify(m)),
    [],
    `escape sequences from the gateway reached the terminal\n${cli.lastWords()}`,
  );
});

Given(
  /^the gateway answers the CLI's (?:next )?(start|poll|model list) with (\d+) MiB$/,
  async function (this: ConformanceWorld, request: string, size: string) {
    assert.ok(isCliRequestName(request), `unknown request ${request}`);
    await floodNext(this, request, Number(size) * MIB);
  },
);

Then('the CLI did not send that request again', async function (this: ConformanceWorld) {
  const flooded = () => this.tap.exchanges.find((e) => e.shapedBy?.includes('bytes'));
  await this.tap.waitFor(() => flooded() !== undefined, 30_000, 'the CLI reading or dropping the large answer');
  const exchange = flooded();
  assert.ok(exchange, 'no answer was flooded');
  const request = Object.keys(CLI_REQUESTS).find((name) => exchange.shapedBy?.startsWith(`${name} answered`));
  assert.ok(request && isCliRequestName(request), `unknown flooded request ${exchange.shapedBy}`);
  const cli = await this.cli();
  // A CLI that asks again does it at once or after its usual pause; one that gave up has ended.
  await Promise.race([
    Promise.all(cli.runs.map((r) => r.exited)),
    new Promise((resolve) => setTimeout(resolve, ASKED_AGAIN_WAIT_MS)),
  ]);
  const { method, path } = CLI_REQUESTS[request];
  const again = this.tap.exchanges.filter(
    (e) => e !== exchange && e.method === method && path.test(e.route) && e.startedAtMs >= exchange.startedAtMs,
  );
  assert.equal(
    again.length,
    0,
    `after an answer too large to read, the CLI sent the ${request} request ${again.length} more time(s)\n${cli.lastWords()}`,
  );
});

Then('the CLI stopped reading that answer before {int} MiB', async function (this: ConformanceWorld, limit: number) {
  const flooded = () => this.tap.exchanges.find((e) => e.shapedBy?.includes('bytes'));
  await this.tap.waitFor(() => flooded() !== undefined, 30_000, 'the CLI reading or dropping the large answer');
  const exchange = flooded();
  assert.ok(exchange);
  assert.ok(
    exchange.abandoned && exchange.bytesSent < limit * MIB,
    `the CLI read ${(exchange.bytesSent / MIB).toFixed(1)} MiB of the answer${exchange.abandoned ? '' : ', all of it'}`,
  );
});

Given('the gateway is served to the CLI under {string}', function (this: ConformanceWorld, prefix: string) {
  assert.equal(this.cliSession, undefined, 'the path prefix must be set before the CLI first runs');
  this.cliPathPrefix = prefix;
});

Then('the login URL the CLI showed is under {string}', function (this: ConformanceWorld, prefix: string) {
  const url = new URL(currentCliLogin(this).loginUrl);
  assert.ok(
    url.pathname.startsWith(`${prefix}/sso/key/generate`),
    `the login URL's path is ${url.pathname}, without ${prefix}`,
  );
});

Given(
  'the gateway is served to the CLI under {string}, the base URL given with a trailing slash',
  function (this: ConformanceWorld, prefix: string) {
    assert.equal(this.cliSession, undefined, 'the path prefix must be set before the CLI first runs');
    this.cliPathPrefix = prefix;
    this.cliBaseUrlSuffix = '/';
  },
);

Then('no request the CLI made had {string} in its path', function (this: ConformanceWorld, text: string) {
  const found = this.tap.exchanges.filter((e) => (e.sentPath.split('?')[0] ?? '').includes(text));
  assert.deepEqual(
    found.map((e) => `${e.method} ${e.sentPath.split('?')[0]}`),
    [],
    `requests with ${text} in their path`,
  );
});

Then('every request the CLI made was under {string}', function (this: ConformanceWorld, prefix: string) {
  const outside = this.tap.exchanges.filter((e) => !e.sentPath.startsWith(`${prefix}/`));
  assert.deepEqual(
    outside.map((e) => `${e.method} ${e.sentPath.split('?')[0]}`),
    [],
    `requests outside ${prefix}`,
  );
});

Given(
  "the gateway starts the CLI's login with the login id {string}",
  async function (this: ConformanceWorld, loginId: string) {
    await rewriteStartAnswer(this, `login id ${loginId}`, (body) => ({ ...body, login_id: loginId }));
  },
);

Then('the CLI sent no request after the start', async function (this: ConformanceWorld) {
  // Exchanges are recorded as they finish: what the CLI asked before its start (a discovery probe,
  // say) finished before the start did.
  const isStart = (e: Exchange) => e.method === 'POST' && START_PATH.test(e.route);
  const start = this.tap.exchanges.findIndex(isStart);
  assert.ok(start >= 0, 'the CLI sent no start');
  const after = this.tap.exchanges.slice(start + 1).filter((e) => !isStart(e));
  assert.deepEqual(
    after.map((e) => `${e.method} ${e.sentPath.split('?')[0]}`),
    [],
    `the CLI went on with a login id that breaks the contract's form\n${(await this.cli()).lastWords()}`,
  );
});

Then('the CLI opened no browser', async function (this: ConformanceWorld) {
  const cli = await this.cli();
  assert.deepEqual(
    cli.browserOpenings.map((o) => o.url),
    [],
    'the CLI opened a browser on a login id that breaks the contract',
  );
});

Given(
  "the gateway's start answer offers the browser link {string}",
  async function (this: ConformanceWorld, template: string) {
    // `{gateway}` is the gateway's own origin as the CLI was given it (`http://127.0.0.1:PORT`): links
    // that start like the gateway's address and still lead elsewhere.
    await this.cli();
    const link = template.replaceAll('{gateway}', this.tap.origin);
    await rewriteStartAnswer(this, `browser link ${template}`, (body) => ({
      ...body,
      verification_uri: link,
      verification_uri_complete: link,
    }));
  },
);

Then(
  "every URL the CLI opened in the browser is an http\\(s) URL on the gateway's origin",
  async function (this: ConformanceWorld) {
    const cli = await this.cli();
    const login = this.cliLogin;
    assert.ok(login, 'no CLI login was started');
    // Wait for the CLI to open its browser, or to end, or for the time a CLI takes to do so.
    await login.run
      .waitForOutput(() => cli.browserOpenings.length > 0, BROWSER_OPENING_WAIT_MS, 'a browser opening')
      .catch(() => undefined);
    const origin = this.tap.origin;
    const elsewhere = cli.browserOpenings
      .map((o) => o.url)
      .filter((url) => {
        try {
          const parsed = new URL(url);
          return !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin;
        } catch {
          return true;
        }
      });
    assert.deepEqual(elsewhere, [], `the CLI opened a URL that is not on the gateway's origin ${origin}`);
  },
);
