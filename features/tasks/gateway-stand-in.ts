/**
 * Tasks: the harness standing between the CLI under test and the gateway, shaping the gateway's
 * answers the way a gateway behaves on a bad day (a 503 while it restarts, a rate limit, a refusal,
 * an answer carrying terminal escapes or far too large), and reading back what the CLI did.
 */
import type { Exchange, ShapeRule } from '../drivers/wire-tap.ts';
import type { ConformanceWorld } from '../support/world.ts';

/** The routes a CLI calls (protocol section 2), matched against an exchange's route. */
export const POLL_PATH = /^\/sso\/cli\/poll\/[^/]+$/;
export const START_PATH = /^\/sso\/cli\/start$/;
export const MODELS_PATH = /^\/(v1\/)?models\/?$/;

/**
 * Escape sequences a hostile gateway might send, each harmful on a terminal: a window title (OSC 0),
 * a hyperlink (OSC 8), clearing the screen (CSI 2J), and the same through an 8-bit C1 CSI. A CLI may
 * colour its own output; these exact sequences can only have come from the gateway.
 */
export const HOSTILE_ESCAPES = {
  title: '\u001b]0;owned-by-the-gateway\u0007',
  link: '\u001b]8;;https://evil.example/\u001b\\click here\u001b]8;;\u001b\\',
  clear: '\u001b[2J\u001b[H',
  c1: '\u009b2J',
} as const;

/** What must never appear in a CLI's output once the gateway sent HOSTILE_ESCAPES. */
export const HOSTILE_ESCAPE_MARKERS = ['\u001b]0;', '\u001b]8;;', '\u001b[2J', '\u009b'] as const;

export function withHostileEscapes(text: string): string {
  return `${text}${HOSTILE_ESCAPES.title}${HOSTILE_ESCAPES.clear}${HOSTILE_ESCAPES.link}${HOSTILE_ESCAPES.c1}`;
}

async function tapOf(world: ConformanceWorld) {
  await world.cli();
  return world.tap;
}

async function shape(world: ConformanceWorld, rule: ShapeRule): Promise<void> {
  (await tapOf(world)).shape(rule);
}

/** The next `times` polls are answered by the harness with `status` and `body`, not by the gateway. */
export async function answerPolls(
  world: ConformanceWorld,
  times: number,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  await shape(world, {
    name: `poll answered ${status}`,
    match: { method: 'GET', path: POLL_PATH },
    times,
    answer: { kind: 'canned', status, body, headers },
  });
}

/** The next poll is answered with a pending answer padded to `bytes`. */
export async function floodNextPoll(world: ConformanceWorld, bytes: number): Promise<void> {
  await floodNext(world, 'poll', bytes);
}

/** The requests a CLI sends, by the name scenarios give them. */
export const CLI_REQUESTS = {
  start: { method: 'POST', path: START_PATH },
  poll: { method: 'GET', path: POLL_PATH },
  'model list': { method: 'GET', path: MODELS_PATH },
} as const;
export type CliRequestName = keyof typeof CLI_REQUESTS;

export function isCliRequestName(name: string): name is CliRequestName {
  return name in CLI_REQUESTS;
}

/** The next `request` is answered with a JSON answer padded to `bytes` (valid if read whole). */
export async function floodNext(world: ConformanceWorld, request: CliRequestName, bytes: number): Promise<void> {
  await shape(world, {
    name: `${request} answered with ${bytes} bytes`,
    match: CLI_REQUESTS[request],
    times: 1,
    answer: { kind: 'flood', bytes },
  });
}

/** The next `times` requests named `request` are answered by the harness with `status` and `body`. */
export async function answerNext(
  world: ConformanceWorld,
  request: CliRequestName,
  times: number,
  status: number,
  body: unknown,
): Promise<void> {
  await shape(world, {
    name: `${request} answered ${status}`,
    match: CLI_REQUESTS[request],
    times,
    answer: { kind: 'canned', status, body },
  });
}

/** The gateway's answers to every GET /user/info pass through `change` (a CLI may show what it says). */
export const rewriteUserInfo = (world: ConformanceWorld, name: string, change: (body: JsonObject) => JsonObject) =>
  rewriteAnswers(world, name, { method: 'GET', path: /^\/user\/info$/ }, change);

type JsonObject = Record<string, unknown>;

function rewriteObject(change: (body: JsonObject) => JsonObject) {
  return (body: unknown) =>
    typeof body === 'object' && body !== null && !Array.isArray(body) ? change({ ...(body as JsonObject) }) : body;
}

/** The gateway's answers to requests matching `match` pass through `change` (a JSON object) before the CLI sees them. */
async function rewriteAnswers(
  world: ConformanceWorld,
  name: string,
  match: { method: string; path: RegExp },
  change: (body: JsonObject) => JsonObject,
): Promise<void> {
  await shape(world, {
    name,
    match,
    times: Number.POSITIVE_INFINITY,
    answer: { kind: 'rewrite', rewrite: rewriteObject(change) },
  });
}

export const rewritePollAnswers = (world: ConformanceWorld, name: string, change: (body: JsonObject) => JsonObject) =>
  rewriteAnswers(world, name, { method: 'GET', path: POLL_PATH }, change);

export const rewriteStartAnswer = (world: ConformanceWorld, name: string, change: (body: JsonObject) => JsonObject) =>
  rewriteAnswers(world, name, { method: 'POST', path: START_PATH }, change);

export const rewriteModelLists = (world: ConformanceWorld, name: string, change: (body: JsonObject) => JsonObject) =>
  rewriteAnswers(world, name, { method: 'GET', path: MODELS_PATH }, change);

/** The gateway answers polls at once whatever the CLI asks (`Prefer: wait` is not passed on). */
export async function answerPollsAtOnce(world: ConformanceWorld): Promise<void> {
  (await tapOf(world)).dropRequestHeader('prefer');
}

export function pollExchanges(world: ConformanceWorld): Exchange[] {
  return world.tap.exchangesTo('GET', POLL_PATH).sort((a, b) => a.startedAtMs - b.startedAtMs);
}

/**
 * Gaps between the starts of consecutive polls, leaving out the gap after a poll the gateway held
 * open (it said `Preference-Applied: wait=N`): the CLI already waited inside that poll.
 */
export function pollGapsMs(world: ConformanceWorld): number[] {
  const polls = pollExchanges(world);
  const gaps: number[] = [];
  for (let i = 1; i < polls.length; i++) {
    const previous = polls[i - 1] as Exchange;
    if (/\bwait\b/i.test(previous.responseHeaders['preference-applied'] ?? '')) continue;
    gaps.push((polls[i] as Exchange).startedAtMs - previous.startedAtMs);
  }
  return gaps;
}

/** Wait until the CLI has sent (and been answered) `count` polls. */
export async function waitForPolls(world: ConformanceWorld, count: number, timeoutMs = 15_000): Promise<void> {
  await (await tapOf(world)).waitFor(
    (exchanges) =>
      exchanges.filter((e) => e.method === 'GET' && POLL_PATH.test(e.path.split('?')[0] ?? '')).length >= count,
    timeoutMs,
    `${count} poll(s) from the CLI`,
  );
}
