/**
 * Steps of the CLI chapter: a hostile or broken gateway (escape sequences, a flood, made-up browser
 * links, a path prefix), played by the harness standing between the CLI and the real gateway.
 */
import assert from 'node:assert/strict';
import { Given, Then } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import { currentCliLogin } from '../tasks/cli-login.ts';
import {
  answerPolls,
  floodNextPoll,
  HOSTILE_ESCAPE_MARKERS,
  rewriteModelLists,
  rewritePollAnswers,
  rewriteStartAnswer,
  START_PATH,
  withHostileEscapes,
} from '../tasks/gateway-stand-in.ts';

const MIB = 1 << 20;
/** A CLI that opens a browser does it right after printing the URL; this is ample. */
const BROWSER_OPENING_WAIT_MS = 5_000;

Given(
  "the gateway's answers to the CLI carry terminal escape sequences in the user id and the team names",
  async function (this: ConformanceWorld) {
    await rewritePollAnswers(this, 'escape sequences in user id and team names', (body) => {
      const details = Array.isArray(body.team_details) ? body.team_details : [];
      return {
        ...body,
        ...(typeof body.user_id === 'string' ? { user_id: withHostileEscapes(body.user_id) } : {}),
        team_details: details.map((d: unknown) =>
          typeof d === 'object' && d !== null
            ? { ...d, team_alias: withHostileEscapes(String((d as Record<string, unknown>).team_alias ?? 'Team')) }
            : d,
        ),
      };
    });
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

Given("the gateway answers the CLI's next poll with {int} MiB", async function (this: ConformanceWorld, size: number) {
  await floodNextPoll(this, size * MIB);
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
  const after = this.tap.exchanges.filter((e) => !(e.method === 'POST' && START_PATH.test(e.route)));
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
  async function (this: ConformanceWorld, link: string) {
    await rewriteStartAnswer(this, `browser link ${link}`, (body) => ({
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
