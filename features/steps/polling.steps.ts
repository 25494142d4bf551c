import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Given, Then, When } from '@cucumber/cucumber';
import { browserLoginUrl, POLL_SECRET_HEADER, parsePollAnswer } from '../../protocol/cli-sso.ts';
import { openAndReadFirstAnswer } from '../drivers/browser.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import { CliCompletionPage } from '../pages/cli-completion-page.ts';
import type { ConformanceWorld } from '../support/world.ts';
import {
  expectReady,
  pollSession,
  pollUntilSettled,
  reachCompletionPage,
  signInAndConfirm,
  startedSession,
} from '../tasks/browser-login.ts';

const aWrongSecret = () => randomBytes(32).toString('base64url');

Then('polling with the poll secret answers {string}', async function (this: ConformanceWorld, status: string) {
  const answer = await pollSession(this);
  assert.equal(answer.status, 200, `the poll answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  assert.equal(parsePollAnswer(answer.json).status, status);
});

When(
  '{string} signs in at the IdP for that session but does not confirm the code yet',
  async function (this: ConformanceWorld, username: string) {
    await reachCompletionPage(this, username);
  },
);

When('a CLI polls the login id {string} with a poll secret', async function (this: ConformanceWorld, loginId: string) {
  this.lastAnswer = await (await this.http()).poll({ loginId, pollSecret: aWrongSecret() });
});

Given(
  '{string} has signed in and confirmed the code for a CLI session',
  async function (this: ConformanceWorld, username: string) {
    await startedSession(this);
    await signInAndConfirm(this, username);
  },
);

Given('{string} has signed in at the IdP for a CLI session', async function (this: ConformanceWorld, username: string) {
  await startedSession(this);
  await reachCompletionPage(this, username);
});

When('the session is polled with a wrong secret', async function (this: ConformanceWorld) {
  await pollSession(this, { pollSecret: aWrongSecret() });
});

When('the session is polled with no secret at all', async function (this: ConformanceWorld) {
  await pollSession(this, { pollSecret: undefined });
});

When('the session is polled with the poll secret in the query string only', async function (this: ConformanceWorld) {
  const secret = this.flow?.pollSecret ?? '';
  await pollSession(this, {
    pollSecret: undefined,
    query: { [POLL_SECRET_HEADER]: secret, poll_secret: secret },
  });
});

When('the session is polled with the poll secret', async function (this: ConformanceWorld) {
  await pollUntilSettled(this);
});

When(
  'the session is polled with the poll secret for team {string}',
  async function (this: ConformanceWorld, teamId: string) {
    await pollUntilSettled(this, { teamId });
  },
);

Then(/^polling with the poll secret (?:still )?hands out the key$/, async function (this: ConformanceWorld) {
  expectReady(this, await pollUntilSettled(this));
});

Then(
  /^polling (?:again|with the poll secret) is refused with (\d+)$/,
  async function (this: ConformanceWorld, status: string) {
    const answer = await pollSession(this);
    assert.equal(answer.status, Number(status), `the poll answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  },
);

Then('polling with the poll secret does not hand out a key', async function (this: ConformanceWorld) {
  const answer = await pollSession(this);
  const handedOut = answer.status === 200 && parsePollAnswer(answer.json).status === 'ready';
  assert.ok(!handedOut, `the poll handed out a key: ${answer.status}`);
});

function lastReady(world: ConformanceWorld) {
  const answer = world.lastAnswer;
  assert.ok(answer, 'no poll answer');
  return expectReady(world, answer);
}

Then('the answer is ready with a key for user {string} and no team', function (this: ConformanceWorld, userId: string) {
  const ready = lastReady(this);
  assert.equal(ready.userId, userId);
  assert.equal(ready.teamId, null);
});

Then(
  'the answer is ready with a key for user {string} and team {string}',
  function (this: ConformanceWorld, userId: string, teamId: string) {
    const ready = lastReady(this);
    assert.equal(ready.userId, userId);
    assert.equal(ready.teamId, teamId);
  },
);

Then('the answer says the key lasts {int} seconds', function (this: ConformanceWorld, seconds: number) {
  assert.equal(lastReady(this).expiresInSeconds, seconds);
});

Then(
  'the answer asks to choose between the teams {string} and holds no key',
  function (this: ConformanceWorld, teams: string) {
    const answer = this.lastAnswer;
    assert.ok(answer);
    assert.equal(answer.status, 200, answer.text.slice(0, 300));
    const parsed = parsePollAnswer(answer.json);
    assert.equal(parsed.status, 'team_selection', `expected a team selection, got ${JSON.stringify(answer.json)}`);
    if (parsed.status !== 'team_selection') return;
    const expected = teams.split(',').map((t) => t.trim());
    assert.deepEqual([...parsed.teams].sort(), [...expected].sort());
    assert.deepEqual(parsed.teamDetails.map((t) => t.teamId).sort(), [...expected].sort());
    assert.ok(
      !(typeof answer.json === 'object' && answer.json !== null && 'key' in answer.json),
      'the answer holds a key',
    );
  },
);

When('the CLI polls asking to wait up to {int} seconds', async function (this: ConformanceWorld, seconds: number) {
  this.memory.set('longPollSeconds', seconds);
  this.memory.set('longPoll', pollSession(this, { preferWaitSeconds: seconds }));
});

When('the code is confirmed in the browser while the poll waits', async function (this: ConformanceWorld) {
  await new CliCompletionPage(await this.browserPage()).enterCode(this.flow?.userCode ?? '');
});

Then('the waiting poll answers ready with a key before its wait is over', async function (this: ConformanceWorld) {
  const answer = (await this.memory.get('longPoll')) as HttpAnswer;
  const seconds = this.memory.get('longPollSeconds') as number;
  const parsed = answer.status === 200 ? parsePollAnswer(answer.json) : undefined;
  assert.equal(
    parsed?.status,
    'ready',
    `the long poll answered ${answer.status} ${answer.text.slice(0, 200)} after ${answer.elapsedMs} ms: it did not wait for the confirmation`,
  );
  assert.ok(answer.elapsedMs < seconds * 1000, `the long poll took ${answer.elapsedMs} ms, its whole wait`);
  expectReady(this, answer);
});

When("the gateway's clock moves {int} seconds ahead", async function (this: ConformanceWorld, seconds: number) {
  await (await this.gatewayClock()).setOffsetSeconds(seconds);
});

Then(
  "opening the session's login URL in the browser is refused with {int}",
  async function (this: ConformanceWorld, status: number) {
    const gateway = await this.gateway();
    const answer = await openAndReadFirstAnswer(
      await this.browserPage(),
      browserLoginUrl(gateway.url, this.flow?.loginId ?? ''),
    );
    assert.equal(answer?.status(), status);
  },
);
