import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Given, Then, When } from '@cucumber/cucumber';
import { browserLoginUrl, POLL_SECRET_HEADER, parsePollAnswer, parseStartAnswer } from '../../protocol/cli-sso.ts';
import { redact } from '../../protocol/redact.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import type { ConformanceWorld } from '../support/world.ts';
import {
  expectReady,
  pollSession,
  pollUntilSettled,
  reachCompletionPage,
  signInAndConfirm,
  startedSession,
} from '../tasks/browser-login.ts';
import { openInBrowser } from '../tasks/browser-visits.ts';
import { confirmCode } from '../tasks/code-confirmation.ts';
import {
  expectRefusal,
  expectTeamDetailsWithAliases,
  expectWireReady,
  holdsKey,
  keyHandedOutBy,
} from '../tasks/gateway-answers.ts';
import { isNearMiss, loginIdNearMiss, nearMiss } from '../tasks/near-misses.ts';

const aWrongSecret = () => randomBytes(32).toString('base64url');

Then('polling with the poll secret answers {string}', async function (this: ConformanceWorld, status: string) {
  const answer = await pollSession(this);
  assert.equal(
    answer.status,
    200,
    `the poll should have answered 200 "${status}", it answered ${answer.status}: ${answer.text.slice(0, 300)}`,
  );
  const parsed = parsePollAnswer(answer.json).status;
  assert.equal(parsed, status, `the poll should have answered "${status}", it answered "${parsed}"`);
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

When(
  '{string} signs in at the IdP and confirms the code for that session',
  async function (this: ConformanceWorld, username: string) {
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
    expectRefusal(await pollSession(this), Number(status), 'the poll');
  },
);

Then('polling with the poll secret does not hand out a key', async function (this: ConformanceWorld) {
  const answer = await pollSession(this);
  const handedOut = answer.status === 200 && parsePollAnswer(answer.json).status === 'ready';
  assert.ok(!handedOut, `the poll handed out a key: ${answer.status}`);
});

/** The last answer, which must hand out a key (the harness keeps it); the answer itself, for a closer look. */
function lastReady(world: ConformanceWorld): HttpAnswer {
  const answer = world.lastAnswer;
  assert.ok(answer, 'no poll answer');
  expectReady(world, answer);
  return answer;
}

/** A poll answer's body for a failure message, with the key and any secret redacted. */
function describeBody(json: unknown): string {
  return JSON.stringify(redact(json));
}

const listOf = (names: string) =>
  names
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);

Then('the answer is ready with a key for user {string} and no team', function (this: ConformanceWorld, userId: string) {
  expectWireReady(lastReady(this), { userId, teamId: null, teams: [] });
});

Then(
  'the answer is ready with a key for user {string} and team {string} of the teams {string}',
  function (this: ConformanceWorld, userId: string, teamId: string, teams: string) {
    expectWireReady(lastReady(this), { userId, teamId, teams: listOf(teams) });
  },
);

Then('the answer holds no key', function (this: ConformanceWorld) {
  assert.ok(!holdsKey(this.lastAnswer?.json), `the ${this.lastAnswer?.status} answer holds a key`);
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
    const expected = listOf(teams);
    assert.deepEqual([...parsed.teams].sort(), [...expected].sort());
    assert.deepEqual(parsed.teamDetails.map((t) => t.teamId).sort(), [...expected].sort());
    // Section 2.5, poll step 4: each entry is {team_id, team_alias}, the alias a string or null, as
    // in the answer with the key (a CLI names the teams by their aliases, CLISSO-CLI-21).
    expectTeamDetailsWithAliases(answer);
    assert.ok(!holdsKey(answer.json), 'the answer holds a key');
  },
);

When('the CLI polls asking to wait up to {int} seconds', async function (this: ConformanceWorld, seconds: number) {
  const answer = pollSession(this, { preferWaitSeconds: seconds });
  // Read by a later step; a poll that fails before then must not be an unhandled rejection.
  answer.catch(() => undefined);
  this.state.longPoll = { seconds, answer };
});

/** The poll that asked to wait, once answered, and how long it asked to wait. */
async function longPoll(world: ConformanceWorld): Promise<{ answer: HttpAnswer; seconds: number }> {
  const poll = world.state.longPoll;
  assert.ok(poll, 'no poll asked to wait in this scenario');
  return { answer: await poll.answer, seconds: poll.seconds };
}

When(/^the code is confirmed in the browser(?: while the poll waits)?$/, async function (this: ConformanceWorld) {
  await confirmCode(this);
});

Then('the waiting poll answers ready with a key before its wait is over', async function (this: ConformanceWorld) {
  const { answer, seconds } = await longPoll(this);
  const parsed = answer.status === 200 ? parsePollAnswer(answer.json) : undefined;
  assert.equal(
    parsed?.status,
    'ready',
    `the long poll answered ${answer.status} ${answer.text.slice(0, 200)} after ${answer.elapsedMs} ms: it did not wait for the confirmation`,
  );
  assert.ok(answer.elapsedMs < seconds * 1000, `the long poll took ${answer.elapsedMs} ms, its whole wait`);
  expectReady(this, answer);
});

/** Moves the gateway's clock on from where this scenario already put it. */
When(
  /^the gateway's clock moves (?:another )?(\d+) seconds ahead$/,
  async function (this: ConformanceWorld, seconds: string) {
    const clock = await this.gatewayClock();
    await this.moveGatewayClock(clock.offset + Number(seconds));
  },
);

Then(
  "opening the session's login URL in the browser is refused with {int}",
  async function (this: ConformanceWorld, status: number) {
    const gateway = await this.gateway();
    const answer = await openInBrowser(this, browserLoginUrl(gateway.url, this.flow?.loginId ?? ''));
    assert.equal(answer.status, status);
  },
);

When('{int} polls with the poll secret are sent at once', async function (this: ConformanceWorld, count: number) {
  const flow = this.flow;
  assert.ok(flow, 'no login session was started');
  const http = await this.http();
  const answers = await Promise.all(
    Array.from({ length: count }, () => http.poll({ loginId: flow.loginId, pollSecret: flow.pollSecret })),
  );
  this.state.concurrentPolls = answers;
});

Then(
  'exactly one of them hands out a key and the others are refused with {int}',
  function (this: ConformanceWorld, status: number) {
    const answers = this.state.concurrentPolls;
    assert.ok(answers, 'no polls were sent at once');
    const withKey = (a: HttpAnswer) => keyHandedOutBy(a) !== undefined;
    const seen = answers.map((a) =>
      withKey(a) ? '200 with a key' : `${a.status} ${describeBody(a.json ?? a.text.slice(0, 80))}`,
    );
    const ready = answers.filter(withKey);
    assert.equal(ready.length, 1, `exactly one of the polls should have got a key; they answered: ${seen.join('; ')}`);
    const others = answers.filter((a) => !withKey(a));
    assert.ok(
      others.every((a) => a.status === status),
      `the polls without the key should have been refused with ${status}; they answered: ${seen.join('; ')}`,
    );
    for (const other of others) expectRefusal(other, status, 'a poll without the key');
    this.lastAnswer = ready[0];
    expectReady(this, ready[0] as HttpAnswer);
  },
);

// ---- Both sides of each edge (docs/mutation.md, "Boundaries") ----------------------------------

/** A second session's poll secret: right for that session, wrong for this one. */
async function anotherSessionsSecret(world: ConformanceWorld): Promise<string> {
  const gateway = await world.gateway();
  await gateway.admitLoginStart();
  const answer = await (await world.http()).start();
  assert.equal(answer.status, 200, `the second POST /sso/cli/start answered ${answer.status}`);
  return parseStartAnswer(answer.json).pollSecret;
}

When(
  /^the session is polled with the poll secret (in the other case|with one character more|without its last character|with its last character changed|empty|of another session|after a wrong one, in a second header)$/,
  async function (this: ConformanceWorld, how: string) {
    const secret = this.flow?.pollSecret ?? '';
    if (how === 'empty') await pollSession(this, { pollSecret: '' });
    else if (how === 'of another session') await pollSession(this, { pollSecret: await anotherSessionsSecret(this) });
    else if (how === 'after a wrong one, in a second header') {
      // Two header lines: a server reading the first sees the wrong one, one joining them sees neither.
      await pollSession(this, { pollSecret: undefined, headers: { [POLL_SECRET_HEADER]: [aWrongSecret(), secret] } });
    } else if (isNearMiss(how)) await pollSession(this, { pollSecret: nearMiss(secret, how) });
  },
);

When(
  /^the session is polled with the poll secret at its login id (.+)$/,
  async function (this: ConformanceWorld, how: string) {
    assert.ok(this.flow, 'no login session was started');
    const loginId = loginIdNearMiss(this.flow.loginId, how);
    this.lastAnswer = await (await this.http()).poll({ loginId, pollSecret: this.flow.pollSecret });
  },
);

/** One poll (not until settled): a session still waiting for the browser answers at once. */
Then(
  'polling with the poll secret for team {string} answers {string}',
  async function (this: ConformanceWorld, teamId: string, status: string) {
    const answer = await pollSession(this, { teamId });
    assert.equal(
      answer.status,
      200,
      `the poll for team ${teamId} answered ${answer.status}: ${answer.text.slice(0, 300)}`,
    );
    assert.equal(parsePollAnswer(answer.json).status, status, `the poll answered ${answer.text.slice(0, 300)}`);
  },
);

When(
  'the session is polled with the poll secret and {string}',
  async function (this: ConformanceWorld, header: string) {
    const colon = header.indexOf(':');
    assert.ok(colon > 0, `not a header: ${header}`);
    const name = header.slice(0, colon).trim().toLowerCase();
    await pollSession(this, { headers: { [name]: header.slice(colon + 1).trim() } });
  },
);

Then('the answer is 200 {string}', function (this: ConformanceWorld, status: string) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  assert.equal(answer.status, 200, `the poll answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const parsed = parsePollAnswer(answer.json).status;
  assert.equal(parsed, status, `the poll answered "${parsed}", expected "${status}"`);
});

/** The Preference-Applied header of an answer, or undefined. */
function preferenceApplied(answer: HttpAnswer): string | undefined {
  const value = answer.headers['preference-applied'];
  return Array.isArray(value) ? value.join(', ') : value;
}

Then('it was answered at once, without {string}', function (this: ConformanceWorld, header: string) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  // "At once": well under the smallest wait a poll can ask for (1 s).
  assert.ok(answer.elapsedMs < 900, `the poll was held ${answer.elapsedMs} ms`);
  const [name] = header.split(':');
  assert.equal(
    preferenceApplied(answer),
    undefined,
    `the poll that was not held says ${name}: ${preferenceApplied(answer)}`,
  );
});

Then(
  'it was held {int} second(s), saying {string}',
  function (this: ConformanceWorld, seconds: number, header: string) {
    const answer = this.lastAnswer;
    assert.ok(answer, 'no answer was recorded');
    // Held the whole wait (a timer may fire a few ms early), and answered soon after it.
    assert.ok(
      answer.elapsedMs >= seconds * 1000 - 50,
      `the poll asked to wait ${seconds} s answered after ${answer.elapsedMs} ms`,
    );
    assert.ok(
      answer.elapsedMs < seconds * 1000 + 2000,
      `the poll asked to wait ${seconds} s answered after ${answer.elapsedMs} ms`,
    );
    const expected = header.slice(header.indexOf(':') + 1).trim();
    assert.equal(
      preferenceApplied(answer),
      expected,
      `the held poll says Preference-Applied: ${preferenceApplied(answer)}`,
    );
  },
);

Then("the waiting poll's answer says {string}", async function (this: ConformanceWorld, header: string) {
  const { answer } = await longPoll(this);
  const expected = header.slice(header.indexOf(':') + 1).trim();
  assert.equal(
    preferenceApplied(answer),
    expected,
    `the held poll says Preference-Applied: ${preferenceApplied(answer)}`,
  );
});

/**
 * Put the gateway's clock so that the session is N seconds old, or N seconds past its last write (the
 * IdP callback), by the gateway's own clock. The harness knows that moment only as lying between its
 * request and the answer: counted from the answer, the session is at least N seconds old, and older by
 * no more than the harness's own delay (the answer's way back, and the next request's way in), a few
 * milliseconds. N - 1 and N then fall on either side of an N-second edge, to well under a second. The
 * clock is moved and checked (moveGatewayClock), then set once more just before the next step's
 * request, so that the check's own time is not added.
 */
When(
  /^the session is (\d+) seconds (old|past its last write) by the gateway's clock$/,
  async function (this: ConformanceWorld, seconds: string, since: string) {
    const moment = since === 'old' ? this.state.sessionStarted : this.state.sessionWritten;
    assert.ok(moment, since === 'old' ? 'no session was started' : 'the session was never written by a sign-in');
    const target = moment.to + Number(seconds);
    const clock = await this.gatewayClock();
    await this.moveGatewayClock(target - Date.now() / 1000);
    await clock.setOffsetSeconds(target - Date.now() / 1000);
  },
);
