/**
 * Steps of the CLI chapter: the harness shapes the gateway's answers to the CLI's polls, and judges
 * how the CLI polled (tasks/gateway-stand-in.ts).
 */
import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import {
  chooseTeamAtCliPrompt,
  currentCliLogin,
  finishLoginInBrowser,
  startCliLogin,
  teamNameOf,
} from '../tasks/cli-login.ts';
import {
  answerPolls,
  answerPollsAtOnce,
  pollExchanges,
  pollGapsMs,
  rewritePollAnswers,
  waitForPolls,
} from '../tasks/gateway-stand-in.ts';

/** A poll answered at once counts as 1 s apart from the next within this much (timer and scheduling noise). */
const POLL_GAP_TOLERANCE_MS = 50;

Given(
  "the gateway answers the CLI's next {int} polls with {string} at once",
  async function (this: ConformanceWorld, times: number, status: string) {
    await answerPolls(this, times, 200, { status });
  },
);

Given(
  "the gateway answers the CLI's next {int} polls with {int}",
  async function (this: ConformanceWorld, times: number, status: number) {
    const detail = status === 429 ? 'Too many requests. Try again later.' : 'The gateway is not available right now.';
    await answerPolls(this, times, status, { detail }, status === 429 ? { 'retry-after': '1' } : {});
  },
);

Given(
  'the gateway answers every poll of the CLI with {int} {string}',
  async function (this: ConformanceWorld, status: number, detail: string) {
    await answerPolls(this, Number.POSITIVE_INFINITY, status, { detail });
  },
);

Given(
  'the gateway answers every poll of the CLI with {string}, even once the session has run out',
  async function (this: ConformanceWorld, status: string) {
    // A gateway that never ends the session: only the CLI's own clock can end the login (CLISSO-CLI-20).
    await answerPolls(this, Number.POSITIVE_INFINITY, 200, { status });
  },
);

Given("the gateway answers polls at once, as LiteLLM's does", async function (this: ConformanceWorld) {
  await answerPollsAtOnce(this);
});

Given("the CLI runs on the gateway's clock", async function (this: ConformanceWorld) {
  await this.gatewayClock();
  this.cliOnGatewayClock = true;
});

When('the CLI has polled once', async function (this: ConformanceWorld) {
  await waitForPolls(this, 1);
});

When('the clocks move {int} seconds ahead', async function (this: ConformanceWorld, seconds: number) {
  await this.moveGatewayClock(seconds);
});

Then('the CLI polled at least {int} times', function (this: ConformanceWorld, count: number) {
  const polls = pollExchanges(this).length;
  assert.ok(polls >= count, `the CLI polled ${polls} time(s)`);
});

Then('the CLI polled exactly once', async function (this: ConformanceWorld) {
  const polls = pollExchanges(this);
  assert.equal(
    polls.length,
    1,
    `the CLI polled ${polls.length} times (answers: ${polls.map((p) => p.status).join(', ')})\n${(await this.cli()).lastWords()}`,
  );
});

Then(/^the CLI's polls started at least (\d+) seconds? apart$/, function (this: ConformanceWorld, seconds: string) {
  const gaps = pollGapsMs(this);
  const least = Number(seconds) * 1000 - POLL_GAP_TOLERANCE_MS;
  const short = gaps.filter((gap) => gap < least);
  assert.equal(
    short.length,
    0,
    `polls started ${short.map((g) => `${g} ms`).join(', ')} after the one before (all gaps: ${gaps.join(', ')} ms)`,
  );
});

Then(
  "the CLI's output gives the reason {string} or {string}",
  async function (this: ConformanceWorld, status: string, detail: string) {
    const cli = await this.cli();
    const output = cli.runs.map((r) => r.transcript).join('\n');
    assert.ok(
      output.includes(status) || output.toLowerCase().includes(detail.toLowerCase()),
      `the CLI did not say why the login failed\n${cli.lastWords()}`,
    );
  },
);

When('the CLI shows the developer a login URL and a code', async function (this: ConformanceWorld) {
  await startCliLogin(this);
});

When('{string} finishes that login in the browser', async function (this: ConformanceWorld, username: string) {
  await finishLoginInBrowser(this, currentCliLogin(this), username);
});

When(
  '{string} starts a login with the CLI and finishes it in the browser',
  async function (this: ConformanceWorld, username: string) {
    const login = await startCliLogin(this);
    await finishLoginInBrowser(this, login, username);
  },
);

When(
  'the developer chooses {string} when the CLI asks for a team',
  async function (this: ConformanceWorld, teamId: string) {
    await chooseTeamAtCliPrompt(this, currentCliLogin(this), teamId);
  },
);

Then("the CLI's last poll asked for team {string}", async function (this: ConformanceWorld, teamId: string) {
  const last = pollExchanges(this).at(-1);
  assert.ok(last, 'the CLI never polled');
  const asked = new URLSearchParams(last.path.split('?')[1] ?? '').get('team_id');
  assert.equal(asked, teamId, `the CLI's last poll asked for team ${asked}\n${(await this.cli()).lastWords()}`);
});

Given("the gateway's team question names each team", async function (this: ConformanceWorld) {
  // The harness's gateways have no team names (LiteLLM keeps them in its database): without them a
  // CLI that sends the chosen team's name as its team_id cannot be told apart (CLISSO-CLI-21).
  await rewritePollAnswers(this, 'team names', (body) =>
    Array.isArray(body.team_details)
      ? {
          ...body,
          team_details: body.team_details.map((d: unknown) =>
            typeof d === 'object' && d !== null && typeof (d as Record<string, unknown>).team_id === 'string'
              ? { ...d, team_alias: teamNameOf((d as Record<string, string>).team_id as string) }
              : d,
          ),
        }
      : body,
  );
});

Given(
  "the gateway's ready answer to the CLI carries no {string}",
  async function (this: ConformanceWorld, field: string) {
    await rewritePollAnswers(this, `ready answer without ${field}`, (body) => {
      delete body[field];
      return body;
    });
  },
);

Given(
  "the gateway's ready answer to the CLI carries {string} of {int}",
  async function (this: ConformanceWorld, field: string, value: number) {
    await rewritePollAnswers(this, `ready answer with ${field}=${value}`, (body) =>
      typeof body.key === 'string' ? { ...body, [field]: value } : body,
    );
  },
);
