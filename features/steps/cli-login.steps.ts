/**
 * Steps of the CLI chapter: logging in with the CLI under test and judging the outcome by what is
 * observable on the wire and on disk (tasks/cli-outcomes.ts).
 */
import assert from 'node:assert/strict';
import { type DataTable, Given, Then, When } from '@cucumber/cucumber';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';
import {
  currentCliLogin,
  launchCliLogin,
  loginThroughBrowser,
  loginUrlsIn,
  startAnswerOnWire,
  waitForCli,
} from '../tasks/cli-login.ts';
import {
  bearerOf,
  cliFilesHolding,
  describeCredentials,
  keysHandedOut,
  lastKeyHandedOut,
  listModelsWithCli,
  loginWindowSeconds,
  pollSecretsHandedOut,
  proveLoginOnWire,
  readTokenFile,
  readyAnswerOnWire,
  seedReadableTokenFile,
  tokenFilePath,
  underHome,
} from '../tasks/cli-outcomes.ts';
import { loginAnswer } from '../tasks/login-answer.ts';

When('{string} logs in with the CLI through the browser', async function (this: ConformanceWorld, username: string) {
  await loginThroughBrowser(this, username);
});

Given(
  '{string} has logged in with the CLI through the browser',
  async function (this: ConformanceWorld, username: string) {
    await loginThroughBrowser(this, username);
    this.cliProvenKeys.push(await proveLoginOnWire(this));
  },
);

When('the developer starts a login with the CLI', async function (this: ConformanceWorld) {
  await launchCliLogin(this);
});

When('the CLI finishes', async function (this: ConformanceWorld) {
  const login = this.cliLogin;
  assert.ok(login, 'no CLI login was started in this scenario');
  await waitForCli(this, login);
});

Then('the CLI printed the login URL and the code the gateway gave it', async function (this: ConformanceWorld) {
  const start = this.tap.jsonAnswers('POST', CLI_SSO_PATHS.start).find((a) => a.status === 200)?.body as
    | Record<string, unknown>
    | undefined;
  assert.ok(start, 'the CLI did not start a login session');
  const login = currentCliLogin(this);
  const url = new URL(login.loginUrl);
  assert.equal(url.pathname.endsWith(CLI_SSO_PATHS.browserEntry), true, `the login URL is ${login.loginUrl}`);
  assert.equal(url.searchParams.get('source'), 'litellm-cli', 'the login URL has no source=litellm-cli');
  assert.equal(url.searchParams.get('key'), start.login_id, "the login URL's key is not the gateway's login id");
  const code = String(start.user_code ?? '');
  assert.ok(code, "the gateway's start answer has no user_code");
  // The code is compared as the person would type it: in any case, with or without its dash or a
  // space (the gateway takes it that way, CLISSO-COMPLETE-01), so a CLI may print "abcd efgh".
  const typed = (text: string) => text.toUpperCase().replace(/[^A-Z0-9]/g, '');
  assert.ok(
    login.run.transcript.split(/\r?\n|\r/).some((line) => typed(line).includes(typed(code))),
    `the CLI did not print the verification code the gateway gave it\n${(await this.cli()).lastWords()}`,
  );
});

When('the developer lists the models with the CLI', async function (this: ConformanceWorld) {
  this.cliModelsRequests = (await listModelsWithCli(this)).requests;
});

Then(
  'the CLI sent the key the gateway handed out as {string}',
  async function (this: ConformanceWorld, _scheme: string) {
    const key = await lastKeyHandedOut(this);
    const requests = this.cliModelsRequests ?? [];
    assert.ok(
      requests.length > 0,
      `the CLI made no request to /models or /v1/models\n${(await this.cli()).lastWords()}`,
    );
    assert.ok(
      requests.some((r) => bearerOf(r) === key),
      `the CLI sent ${describeCredentials(requests, key)}\n${(await this.cli()).lastWords()}`,
    );
  },
);

Then("the CLI's output names the models {string}", async function (this: ConformanceWorld, names: string) {
  const result = this.cliResult;
  assert.ok(result, 'the CLI has not been run');
  for (const name of names.split(',').map((n) => n.trim())) {
    assert.ok(
      `${result.stdout}${result.stderr}`.includes(name),
      `"${name}" is not in the CLI's output\n${(await this.cli()).lastWords()}`,
    );
  }
});

Then('the CLI asked the browser to open the login URL', async function (this: ConformanceWorld) {
  const login = currentCliLogin(this);
  const cli = await this.cli();
  const loginId = new URL(login.loginUrl).searchParams.get('key');
  assert.ok(
    cli.browserOpenings.some((o) => o.url.includes('/sso/key/generate') && o.url.includes(String(loginId))),
    `the CLI did not open the login URL through BROWSER (opened: ${cli.browserOpenings.length})\n${cli.lastWords()}`,
  );
});

Then(
  'the login URL and the code were on the screen before the browser opened',
  async function (this: ConformanceWorld) {
    const cli = await this.cli();
    const opening = cli.browserOpenings[0];
    if (!opening) return; // nothing was opened, so nothing was opened too early
    // Judged against the gateway's own start answer, not against what the CLI printed: the whole
    // browser URL for that login id (a session id alone is not the URL), and that code.
    const start = startAnswerOnWire(this);
    const urls = loginUrlsIn(opening.printedBefore);
    assert.ok(
      urls.some((url) => new URL(url).searchParams.get('key') === start.loginId),
      `the CLI opened the browser before it printed the login URL for ${start.loginId}; it had printed:\n${opening.printedBefore || '(nothing)'}`,
    );
    assert.ok(
      opening.printedBefore.replace(/[^A-Z0-9]/g, '').includes(start.userCode.replace(/[^A-Z0-9]/g, '')),
      `the CLI opened the browser before it printed the verification code; it had printed:\n${opening.printedBefore || '(nothing)'}`,
    );
  },
);

Then(
  "no file under the CLI's HOME that holds the key is readable by group or others",
  async function (this: ConformanceWorld) {
    const key = await lastKeyHandedOut(this);
    const exposed = (await cliFilesHolding(this, key)).filter((f) => (f.mode & 0o044) !== 0);
    assert.deepEqual(
      exposed.map((f) => `${underHome(this, f.path)} (mode ${f.mode.toString(8)})`),
      [],
      'files holding the key that others can read',
    );
  },
);

Then('the token file, if the CLI wrote one, is readable only by its owner', async function (this: ConformanceWorld) {
  const { stat } = await import('node:fs/promises');
  const info = await stat(tokenFilePath(this)).catch(() => undefined);
  if (!info) return;
  const mode = info.mode & 0o777;
  assert.equal(mode & 0o077, 0, `~/.litellm/token.json has mode ${mode.toString(8)}; it must be 600 (or stricter)`);
});

Given(
  "the CLI's HOME holds a token file of an older login that anyone can read",
  async function (this: ConformanceWorld) {
    await seedReadableTokenFile(this);
  },
);

Given("the CLI under test writes LiteLLM's token file", function (this: ConformanceWorld) {
  if (!this.parameters.cli.writesTokenFile) {
    throw new ConfigurationNotOffered(
      "CLI does not declare that it writes LiteLLM's ~/.litellm/token.json with the key (--cli-writes-token-file)",
    );
  }
});

Then(
  'the token file holds the key the gateway handed out, with {string}, {string} and {string}',
  async function (this: ConformanceWorld, first: string, second: string, third: string) {
    const fields = [first, second, third];
    const content = await readTokenFile(this);
    assert.ok(content, `the CLI wrote no ${underHome(this, tokenFilePath(this))}`);
    assert.equal(content.key, await lastKeyHandedOut(this), 'the token file\'s "key" is not the key handed out');
    for (const field of fields) assert.ok(field in content, `the token file has no "${field}" field`);
    // Each field holds what LiteLLM's SDK expects there, not merely something.
    assert.equal(
      String(content.base_url).replace(/\/+$/, ''),
      this.tap.url.replace(/\/+$/, ''),
      'the token file\'s "base_url" is not the gateway URL the CLI was given',
    );
    assert.equal(
      content.user_id,
      (await readyAnswerOnWire(this)).user_id,
      'the token file\'s "user_id" is not the user id of the ready answer',
    );
    const { fromS, toS } = loginWindowSeconds(this);
    const timestamp = content.timestamp;
    assert.ok(
      typeof timestamp === 'number' && timestamp >= fromS && timestamp <= toS,
      `the token file's "timestamp" is ${JSON.stringify(timestamp)}; it must be the login's time in unix seconds (${fromS} to ${toS})`,
    );
  },
);

Then("the CLI's login is proven on the wire", async function (this: ConformanceWorld) {
  this.cliProvenKeys.push(await proveLoginOnWire(this));
});

Then("the CLI's login exited with status 0", async function (this: ConformanceWorld) {
  assert.equal(this.cliExitCode, 0, `the login exited with ${this.cliExitCode}\n${(await this.cli()).lastWords()}`);
});

Then("the CLI's login exited with a non-zero status", async function (this: ConformanceWorld) {
  assert.ok(
    this.cliExitCode !== 0 && this.cliExitCode !== undefined,
    `the login got no key but exited with status ${this.cliExitCode}\n${(await this.cli()).lastWords()}`,
  );
});

Then('the gateway handed the CLI no key', function (this: ConformanceWorld) {
  assert.deepEqual(keysHandedOut(this).length, 0, 'the gateway handed the CLI a key');
});

Then('nothing the CLI printed holds the whole key or the poll secret', async function (this: ConformanceWorld) {
  const cli = await this.cli();
  const secrets = [...keysHandedOut(this), ...pollSecretsHandedOut(this)];
  assert.ok(secrets.length > 0, 'the wire tap saw no login');
  const printed = cli.runs.map((r) => r.transcript).join('\n');
  const shown = secrets.filter((s) => printed.includes(s));
  assert.equal(shown.length, 0, `the CLI printed ${shown.length} secret(s) in full (redacted in the report)`);
});

Then('no request the CLI made had the poll secret or the key in its URL', function (this: ConformanceWorld) {
  const secrets = [...keysHandedOut(this), ...pollSecretsHandedOut(this)];
  assert.ok(secrets.length > 0, 'the wire tap saw no login');
  for (const exchange of this.tap.exchanges) {
    const decoded = safeDecode(exchange.sentPath);
    for (const secret of secrets) {
      assert.ok(
        !exchange.sentPath.includes(secret) && !decoded.includes(secret),
        `${exchange.method} ${exchange.sentPath.split('?')[0]} carried a secret in its URL`,
      );
    }
  }
});

Then(
  'no URL the CLI opened in the browser had the poll secret or the key in it',
  async function (this: ConformanceWorld) {
    // The browser URL is a URL too (CLISSO-CLI-06): a poll secret in it reaches the browser's
    // history, the gateway's access log and any page the person goes on to.
    const secrets = [...keysHandedOut(this), ...pollSecretsHandedOut(this)];
    assert.ok(secrets.length > 0, 'the wire tap saw no login');
    for (const opening of (await this.cli()).browserOpenings) {
      const decoded = safeDecode(opening.url);
      for (const secret of secrets) {
        assert.ok(
          !opening.url.includes(secret) && !decoded.includes(secret),
          `the CLI opened ${opening.url.split('?')[0]} in the browser with a secret in the URL`,
        );
      }
    }
  },
);

Then('the CLI sent the key of the second login, not the first', async function (this: ConformanceWorld) {
  const keys = keysHandedOut(this);
  assert.ok(keys.length >= 2, `the gateway handed out ${keys.length} key(s), expected two logins`);
  const [first, second] = [keys[0] as string, keys.at(-1) as string];
  const requests = this.cliModelsRequests ?? [];
  const sent = requests.map(bearerOf);
  assert.ok(sent.includes(second), `after the second login the CLI sent ${describeCredentials(requests, second)}`);
  assert.ok(!sent.includes(first), 'after the second login the CLI still sent the first key');
});

Then('the login answer carried the attribution metadata:', function (this: ConformanceWorld, table: DataTable) {
  const expected = Object.fromEntries(table.raw().map(([key, value]) => [key, value]));
  assert.deepEqual(loginAnswer(this).attributionMetadata, expected);
});

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
