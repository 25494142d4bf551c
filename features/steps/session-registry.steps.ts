import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import { CLI_SESSION_PATHS } from '../../protocol/cli-sessions.ts';
import type { RunningGateway } from '../drivers/gateway.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { detailMessageOf, expectApiError } from '../tasks/gateway-answers.ts';
import { configuredKeyLifetimeSeconds } from '../tasks/gateway-setup.ts';
import {
  allSessions,
  expectRegistry,
  expectRevoked,
  findLoginSession,
  listSessions,
  loginSessionOf,
  masterKeyOf,
  noteSessions,
  pagesOfTheList,
  revokeSession,
} from '../tasks/session-registry.ts';

/** How far a session's two times may be from the key's lifetime apart (seconds: a write is not instant). */
const REGISTRY_TIME_SLACK_S = 60;

function heldKey(world: ConformanceWorld): string {
  assert.ok(world.key, 'no key was handed out in this scenario');
  return world.key;
}

function replicaAt(world: ConformanceWorld, index: number | undefined): RunningGateway | undefined {
  if (index === undefined) return undefined;
  const gateway = world.state.replicas?.[index - 1];
  assert.ok(gateway, `there is no replica ${index}`);
  return gateway;
}

/** The optional " on replica N" of a step, as a number (Cucumber passes an unmatched group as null). */
function replicaNumber(text: string | null | undefined): number | undefined {
  return text === undefined || text === null ? undefined : Number(text);
}

Given(
  /^the gateway keeps a CLI session registry(?: on replica (\d+))?$/,
  async function (this: ConformanceWorld, n?: string | null) {
    await expectRegistry(this, replicaAt(this, replicaNumber(n)));
  },
);

Given(
  /^the master key notes the CLI sessions listed(?: on replica (\d+))?$/,
  async function (this: ConformanceWorld, n?: string | null) {
    await noteSessions(this, replicaAt(this, replicaNumber(n)));
  },
);

When(
  /^the master key finds the login's session in the list(?: on replica (\d+))?$/,
  async function (this: ConformanceWorld, n?: string | null) {
    await findLoginSession(this, replicaAt(this, replicaNumber(n)));
  },
);

Then(
  "the login's session is listed for user {string} and the login's team",
  async function (this: ConformanceWorld, user: string) {
    const session = loginSessionOf(this);
    const ready = this.state.readyAnswer;
    assert.ok(ready, 'no key was handed out in this scenario');
    assert.equal(session.user_id, user, `the session's user_id: ${JSON.stringify(session)}`);
    assert.equal(session.team_id, ready.teamId, `the session's team_id: ${JSON.stringify(session)}`);
    assert.equal(session.revoked_at, null, `a new session is not revoked: ${JSON.stringify(session)}`);
    // The row's times: when it was recorded, and the key's expiry. Their difference is the key's
    // lifetime whatever time zone a gateway writes them in (LiteLLM may write them without one).
    const created = Date.parse(String(session['created_at']));
    const expires = Date.parse(String(session['expires_at']));
    assert.ok(
      Number.isFinite(created) && Number.isFinite(expires),
      `the session's created_at and expires_at are not times: ${JSON.stringify(session)}`,
    );
    const lifetime = await configuredKeyLifetimeSeconds(this);
    assert.ok(
      Math.abs((expires - created) / 1000 - lifetime) <= REGISTRY_TIME_SLACK_S,
      `the session expires ${Math.round((expires - created) / 1000)} s after it was created; the gateway's CLI keys live ${lifetime} s: ${JSON.stringify(session)}`,
    );
  },
);

Then('nothing in the session list holds the key or a piece of it', async function (this: ConformanceWorld) {
  const key = heldKey(this);
  const listed = JSON.stringify(await allSessions(this));
  // The key whole, and each dot-separated part of 16 characters or more (a JWT's header is often shared).
  const pieces = [key, ...key.split('.').filter((part) => part.length >= 16 && !isCommonJwtHeader(part))];
  for (const piece of pieces) {
    assert.ok(!listed.includes(piece), 'the session list holds the key or a piece of it');
  }
});

/** The base64url of `{"alg":"HS256","typ":"JWT"}` and such: not the key's secret part. */
function isCommonJwtHeader(part: string): boolean {
  return part.startsWith('eyJhbGciOi') && part.length < 64;
}

When('the key lists the CLI sessions', async function (this: ConformanceWorld) {
  this.lastAnswer = await listSessions(this, heldKey(this));
});

When('the CLI sessions are listed without a key', async function (this: ConformanceWorld) {
  this.lastAnswer = await listSessions(this, undefined);
});

When('the master key lists the CLI sessions with {string}', async function (this: ConformanceWorld, query: string) {
  const http = await this.http();
  this.lastAnswer = await http.send('GET', `${CLI_SESSION_PATHS.list}?${query}`, {
    headers: { authorization: `Bearer ${await masterKeyOf(this)}` },
  });
});

Then('the session list answers {int}', function (this: ConformanceWorld, status: number) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  assert.equal(answer.status, status, `GET /cli/session/list answered ${answer.status}: ${answer.text.slice(0, 300)}`);
});

// LiteLLM checks the bounds with FastAPI (422), the reference with a 400 naming the parameter.
Then('the session list answers a 4xx', function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  assert.ok(
    answer.status >= 400 && answer.status < 500,
    `GET /cli/session/list answered ${answer.status}, expected a 4xx: ${answer.text.slice(0, 300)}`,
  );
});

When("the key revokes the login's session", async function (this: ConformanceWorld) {
  this.lastAnswer = await revokeSession(this, heldKey(this), loginSessionOf(this).session_id);
});

When(
  /^the master key revokes the login's session(?: on replica (\d+))?( again)?$/,
  async function (this: ConformanceWorld, n?: string | null, again?: string | null) {
    const replica = replicaAt(this, replicaNumber(n));
    const sessionId = loginSessionOf(this).session_id;
    this.lastAnswer = await revokeSession(this, await masterKeyOf(this, replica), sessionId, replica);
    if (!again) this.state.firstRevocation = expectRevoked(this.lastAnswer, sessionId);
  },
);

When('the master key revokes the CLI session {string}', async function (this: ConformanceWorld, sessionId: string) {
  this.lastAnswer = await revokeSession(this, await masterKeyOf(this), sessionId);
});

Then('the gateway answers 404 with the detail {string}', function (this: ConformanceWorld, detail: string) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  assert.equal(answer.status, 404, `expected 404, got ${answer.status}: ${answer.text.slice(0, 300)}`);
  assert.equal(detailMessageOf(answer.json), detail, `the 404 body: ${answer.text.slice(0, 300)}`);
});

Then('the session keeps the revoked_at of the first revocation', async function (this: ConformanceWorld) {
  const first = this.state.firstRevocation;
  assert.ok(first, 'the session was not revoked before');
  const again = expectRevoked(this.lastAnswer ?? assert.fail('no answer was recorded'), first.session_id);
  assert.equal(again.revoked_at, first.revoked_at, 'revoking again changed revoked_at');
  const listed = (await allSessions(this)).find((s) => s.session_id === first.session_id);
  assert.ok(listed, 'a revoked session that has not expired is still listed');
  assert.equal(listed.revoked_at, first.revoked_at, 'the list shows another revoked_at');
});

Then(
  /^the key is refused with 401 at "([^"]+)"(?: on replica (\d+))?$/,
  async function (this: ConformanceWorld, path: string, n?: string | null) {
    const answer = await (await this.http(replicaAt(this, replicaNumber(n)))).models(heldKey(this), path);
    assert.equal(
      answer.status,
      401,
      `GET ${path} with the revoked key answered ${answer.status}: ${answer.text.slice(0, 300)}`,
    );
    // docs/contract.md section 10.7: `401 {"error": {...}}`, LiteLLM's body for a refused key.
    expectApiError(answer, `GET ${path} with the revoked key`);
  },
);

/** CLISSO-REGISTRY-05: a revoked key is refused on the registry's own routes, the revoke route included. */
Then('the revocation answers 401', function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  assert.equal(
    answer.status,
    401,
    `POST /cli/session/{id}/revoke with a revoked key answered ${answer.status}: ${answer.text.slice(0, 300)}`,
  );
  expectApiError(answer, 'POST /cli/session/{id}/revoke with the revoked key');
});

Then(/^the key still opens "([^"]+)"$/, async function (this: ConformanceWorld, path: string) {
  const answer = await (await this.http()).models(heldKey(this), path);
  assert.equal(answer.status, 200, `GET ${path} with the key answered ${answer.status}: ${answer.text.slice(0, 300)}`);
});

/** How long another replica may go on accepting a revoked key (docs/contract.md section 10.7). */
const OTHER_REPLICA_SECONDS = 5;

Then(
  /^the key is refused with 401 at "([^"]+)" on replica (\d+) within 5 seconds$/,
  async function (this: ConformanceWorld, path: string, n: string) {
    const http = await this.http(replicaAt(this, Number(n)));
    const key = heldKey(this);
    const deadline = performance.now() + OTHER_REPLICA_SECONDS * 1000;
    let status = 0;
    // Poll with a deadline: the other replica may have remembered the key as valid a moment ago.
    while (performance.now() < deadline) {
      status = (await http.models(key, path)).status;
      if (status === 401) return;
      assert.equal(status, 200, `GET ${path} on replica ${n} answered ${status}, neither the models nor 401`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`replica ${n} still accepted the revoked key ${OTHER_REPLICA_SECONDS} s after the revocation`);
  },
);

Given("the harness keeps the login's session as the earlier one", function (this: ConformanceWorld) {
  this.state.earlierSession = loginSessionOf(this);
});

Then(
  "the login's session is listed before the earlier one, and each page of {int} is its part of the list with the list's total_count",
  async function (this: ConformanceWorld, pageSize: number) {
    const later = loginSessionOf(this).session_id;
    const earlier = this.state.earlierSession?.session_id;
    assert.ok(earlier, 'no earlier session was kept');
    const { all, pages } = await pagesOfTheList(this, pageSize);
    const [at, atEarlier] = [all.indexOf(later), all.indexOf(earlier)];
    assert.ok(at >= 0 && atEarlier >= 0, `both logins' sessions are listed (at ${at} and ${atEarlier})`);
    assert.ok(
      at < atEarlier,
      `the later login's session is listed at ${at}, after the earlier one's at ${atEarlier}: not newest first`,
    );
    pages.forEach((page, i) => {
      const part = all.slice(i * pageSize, (i + 1) * pageSize);
      assert.deepEqual(
        page.ids,
        part,
        `page ${i + 1} of ${pageSize} holds other sessions than that part of the whole list`,
      );
      assert.equal(
        page.totalCount,
        all.length,
        `page ${i + 1} of ${pageSize} says total_count ${page.totalCount}; the list has ${all.length}`,
      );
    });
  },
);

Then("the login's session is no longer listed", async function (this: ConformanceWorld) {
  const id = loginSessionOf(this).session_id;
  const listed = (await allSessions(this)).some((s) => s.session_id === id);
  assert.ok(!listed, `the session ${id} is still listed after its key expired`);
});

Then(
  'the revocation answers 200 with the session, revoked by {string}',
  function (this: ConformanceWorld, admin: string) {
    const revoked = expectRevoked(
      this.lastAnswer ?? assert.fail('no answer was recorded'),
      loginSessionOf(this).session_id,
    );
    assert.equal(revoked['revoked_by'], admin, `revoked_by names another revoker: ${JSON.stringify(revoked)}`);
  },
);
