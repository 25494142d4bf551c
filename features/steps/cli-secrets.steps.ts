/**
 * Steps of the CLI chapter: a gateway that tries to get the key or the poll secret printed
 * (CLISSO-CLI-30). It hands out secrets holding line breaks, spaces and escape sequences, and repeats
 * them in its error details; whatever the CLI does with them, no piece may reach its output.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Given, Then } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import { keysHandedOut, lastKeyHandedOut } from '../tasks/cli-outcomes.ts';
import { answerNext, answerPolls, rewritePollAnswers, rewriteStartAnswer } from '../tasks/gateway-stand-in.ts';

/** The secrets the harness made up in this scenario, by kind. */
const madeUp = new WeakMap<ConformanceWorld, { key?: string; pollSecret?: string }>();

function remember(world: ConformanceWorld, secrets: { key?: string; pollSecret?: string }): void {
  madeUp.set(world, { ...madeUp.get(world), ...secrets });
}

/** Random letters and digits, long enough that no output holds them by chance. */
function piece(): string {
  return randomBytes(18).toString('base64url').replace(/[-_]/g, 'x');
}

/**
 * A secret as an odd gateway might hand it out: its pieces separated by a line break, spaces, a tab
 * and an escape sequence, so that a CLI redacting only one line, or only what a pattern recognises,
 * shows the rest.
 */
function oddSecret(prefix: string): string {
  return `${prefix}${piece()}\n${piece()} ${piece()}\t\u001b[2J${piece()}\r\n${piece()}`;
}

/** Where a secret breaks into the pieces a printer may show apart. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: a secret is cut at its control characters
const BREAKS = /(?:\u001b\[[0-?]*[ -/]*[@-~]|[\s\u0000-\u001f\u007f-\u009f])+/u;
/** Pieces shorter than this could turn up in any output; the harness's own pieces are 24 characters. */
const MIN_PIECE = 12;

function piecesOf(secret: string): string[] {
  return [...new Set([secret, ...secret.split(BREAKS).filter((p) => p.length >= MIN_PIECE)])];
}

async function assertNoPiecePrinted(world: ConformanceWorld, secrets: string[], what: string): Promise<void> {
  assert.ok(secrets.length > 0, `no ${what} to look for`);
  const cli = await world.cli();
  const printed = cli.runs.map((r) => r.transcript).join('\n');
  const shown = secrets.flatMap(piecesOf).filter((p) => printed.includes(p));
  // The evidence shows where the CLI printed them, without them.
  const words = shown.reduce((text, p) => text.split(p).join('[a piece of the secret]'), cli.lastWords());
  assert.equal(shown.length, 0, `the CLI printed ${shown.length} piece(s) of the ${what}\n${words}`);
}

Given(
  'the gateway hands the CLI a key holding a line break, spaces and escape sequences',
  async function (this: ConformanceWorld) {
    const key = oddSecret('sk-');
    remember(this, { key });
    await rewritePollAnswers(this, 'a key holding a line break, spaces and escape sequences', (body) =>
      body.status === 'ready' && typeof body.key === 'string' ? { ...body, key } : body,
    );
  },
);

Then('no piece of that key appears in what the CLI printed', async function (this: ConformanceWorld) {
  const key = madeUp.get(this)?.key;
  assert.ok(key, 'the harness handed out no key of its own');
  assert.ok(keysHandedOut(this).includes(key), 'the CLI never received the key');
  await assertNoPiecePrinted(this, [key], 'key');
});

Given(
  "the gateway answers the CLI's next {int} model lists with {int} and then every one with {int}, each detail repeating the key",
  async function (this: ConformanceWorld, times: number, first: number, then: number) {
    const key = await lastKeyHandedOut(this);
    // What a broken gateway echoes: the header as it arrived, the key alone, and JSON-quoted.
    const said = `invalid Authorization header "Bearer ${key}": key ${key} ${JSON.stringify({ key })}`;
    const body = { detail: said, error: { message: said, type: 'auth_error' } };
    await answerNext(this, 'model list', times, first, body);
    await answerNext(this, 'model list', Number.POSITIVE_INFINITY, then, body);
  },
);

Given(
  "the gateway answers the CLI's next {int} model lists with {int} and then every one with {int} {string}",
  async function (this: ConformanceWorld, times: number, first: number, then: number, detail: string) {
    // The gateway's words never hold the key here: whatever of it the CLI shows is its own doing.
    await answerNext(this, 'model list', times, first, { detail: 'The gateway is not available right now.' });
    await answerNext(this, 'model list', Number.POSITIVE_INFINITY, then, {
      detail,
      error: { message: detail, type: 'auth_error' },
    });
  },
);

Then('no piece of the key appears in what the CLI printed', async function (this: ConformanceWorld) {
  await assertNoPiecePrinted(this, keysHandedOut(this), 'key');
});

Given(
  /^the gateway's start answer gives the CLI (an ordinary poll secret|a poll secret holding a line break, spaces and escape sequences), and its polls are answered 503 twice, then 403, each detail repeating it$/,
  async function (this: ConformanceWorld, kind: string) {
    const pollSecret = kind.startsWith('an ordinary') ? piece() + piece() : oddSecret('');
    remember(this, { pollSecret });
    await rewriteStartAnswer(this, 'a poll secret of the harness', (body) => ({ ...body, poll_secret: pollSecret }));
    const said = `invalid x-litellm-cli-poll-secret "${pollSecret}" (${JSON.stringify({ poll_secret: pollSecret })})`;
    await answerPolls(this, 2, 503, { detail: said });
    await answerPolls(this, Number.POSITIVE_INFINITY, 403, { detail: said });
  },
);

Then('no piece of that poll secret appears in what the CLI printed', async function (this: ConformanceWorld) {
  const pollSecret = madeUp.get(this)?.pollSecret;
  assert.ok(pollSecret, 'the harness made up no poll secret');
  await assertNoPiecePrinted(this, [pollSecret], 'poll secret');
});
