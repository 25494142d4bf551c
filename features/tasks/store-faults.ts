/**
 * A poll whose answer is lost to a store failure (CLISSO-STORE-05, -06), judged by what crosses the
 * wire whatever the gateway: the harness makes the store fail right after the n-th write the poll
 * that would hand out the key carries out in Redis (features/drivers/store-relay.ts), for n = 1, 2, ...
 * in turn, one confirmed login each, until a poll has its key before the store fails or makes fewer
 * than n writes. So the failure comes once after every write the poll makes before it answers,
 * whichever of them hands out the key, without knowing the gateway's keys or commands.
 *
 * After each failure the store comes back and the CLI polls again as a CLI does: through 5xx and
 * no answer [CLISSO-CLI-16], one poll starting at least 1 s after the last [CLISSO-CLI-17], until an
 * answer that is neither or the deadline. Before each of its polls, someone who knows the login id but
 * not the poll secret polls too.
 */
import { HttpCallFailed, httpCall } from '../../common/http-client.ts';
import {
  CLI_SSO_PATHS,
  joinUrl,
  POLL_SECRET_HEADER,
  parsePollAnswer,
  type StartAnswer,
} from '../../protocol/cli-sso.ts';
import type { StoreRelay } from '../drivers/store-relay.ts';
import type { LostAnswerRound, SeenPoll } from '../support/scenario-state.ts';

export type { LostAnswerRound, SeenPoll };

/** No answer within this is "no answer": a gateway waiting on a dead store should not take longer. */
const IN_FLIGHT_DEADLINE_MS = 15_000;
/** A gateway should be serving again this long after its store came back. */
const RECOVERY_DEADLINE_MS = 20_000;
/** CLISSO-CLI-17: a CLI starts two polls at least 1 s apart. */
const CLI_POLL_INTERVAL_MS = 1000;
/** More writes than this before a poll answers is not a plausible poll. */
const MAX_ROUNDS = 6;

const STRANGER_SECRET = 'not-the-poll-secret-of-this-login-AAAAAAAAAAAA';

export interface LostAnswerSetting {
  relay: StoreRelay;
  /** The replica the poll in flight goes to, and the one the CLI polls again (a load balancer may switch). */
  pollOn: string;
  retryOn: string;
  /** A fresh login, confirmed in the browser and ready to hand out its key. */
  confirmedLogin: () => Promise<StartAnswer>;
}

export async function loseThePollAnswer(setting: LostAnswerSetting): Promise<LostAnswerRound[]> {
  const rounds: LostAnswerRound[] = [];
  for (let write = 1; write <= MAX_ROUNDS; write++) {
    const flow = await setting.confirmedLogin();
    const { relay } = setting;
    const { failed } = await relay.failAfterChanges(write);
    const inFlight = await pollOnce(setting.pollOn, flow.loginId, flow.pollSecret, IN_FLIGHT_DEADLINE_MS);
    const storeFailed = relay.down;
    if (!storeFailed) relay.disarm();
    const round: LostAnswerRound = { write, storeFailed, inFlight, retries: [], strangers: [] };
    rounds.push(round);
    if (!storeFailed) break;
    await failed;
    round.strangers.push(await pollOnce(setting.retryOn, flow.loginId, STRANGER_SECRET, IN_FLIGHT_DEADLINE_MS));
    relay.recover();
    if (inFlight.key) {
      // The answer had gone out before the store failed: nothing was lost. A stranger still gets nothing.
      round.strangers.push(await pollOnce(setting.retryOn, flow.loginId, STRANGER_SECRET, IN_FLIGHT_DEADLINE_MS));
      break;
    }
    const deadline = Date.now() + RECOVERY_DEADLINE_MS;
    let last = inFlight;
    for (;;) {
      await untilMs(last.startedAtMs + CLI_POLL_INTERVAL_MS);
      round.strangers.push(await pollOnce(setting.retryOn, flow.loginId, STRANGER_SECRET, IN_FLIGHT_DEADLINE_MS));
      last = await pollOnce(setting.retryOn, flow.loginId, flow.pollSecret, IN_FLIGHT_DEADLINE_MS);
      round.retries.push(last);
      if (!storeTrouble(last) || Date.now() > deadline) break;
    }
    round.strangers.push(await pollOnce(setting.retryOn, flow.loginId, STRANGER_SECRET, IN_FLIGHT_DEADLINE_MS));
  }
  return rounds;
}

/** A 5xx or no answer: what a gateway whose store failed may answer, and what a CLI polls through. */
export function storeTrouble(poll: SeenPoll): boolean {
  return poll.status === undefined || poll.status >= 500;
}

export function describePoll(poll: SeenPoll): string {
  return poll.status === undefined ? `no answer (${poll.summary})` : `${poll.status} ${poll.summary}`;
}

async function pollOnce(gatewayUrl: string, loginId: string, pollSecret: string, timeoutMs: number): Promise<SeenPoll> {
  const startedAtMs = Date.now();
  try {
    const reply = await httpCall(joinUrl(gatewayUrl, CLI_SSO_PATHS.poll(loginId)), {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'sso-conformance', [POLL_SECRET_HEADER]: pollSecret },
      timeoutMs,
    });
    return {
      gateway: gatewayUrl,
      status: reply.status,
      key: readyKey(reply.status, reply.text),
      summary: reply.text.slice(0, 200),
      startedAtMs,
    };
  } catch (error) {
    if (!(error instanceof HttpCallFailed)) throw error;
    return { gateway: gatewayUrl, status: undefined, key: undefined, summary: error.message, startedAtMs };
  }
}

function readyKey(status: number, text: string): string | undefined {
  if (status !== 200) return undefined;
  try {
    const answer = parsePollAnswer(JSON.parse(text));
    return answer.status === 'ready' ? answer.key : undefined;
  } catch {
    return undefined;
  }
}

function untilMs(whenMs: number): Promise<void> {
  const waitMs = whenMs - Date.now();
  return waitMs > 0 ? new Promise((resolve) => setTimeout(resolve, waitMs)) : Promise.resolve();
}
