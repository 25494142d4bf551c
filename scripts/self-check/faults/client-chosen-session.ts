/**
 * client-chosen-session — breaks docs/contract.md section 2.2 (GET /sso/key/generate): a key the
 * client made up (`sk-...`, the first-generation flow) must never start a CLI login, and a missing,
 * malformed, unknown or expired key gets 400 Invalid CLI login session.
 *
 * Mechanism: the first-generation flow, rebuilt on the real gateway. When the gateway refuses a CLI
 * browser entry with 400, the relay starts a real flow for that key, remembers it and sends the
 * browser on as if the key were valid; the completion form of such a flow is accepted without the
 * code (the first generation had none) and a poll for the client's key is answered from the flow.
 * So an attacker who made up `sk-attacker` and got a victim to open the link receives the key.
 */
import { CLI_SSO_PATHS, POLL_SECRET_HEADER, parseStartAnswer, type StartAnswer } from '../../../protocol/cli-sso.ts';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import type { Exchange } from '../relay.ts';
import { jsonOf } from '../relay.ts';
import { completeLoginId, isCliBrowserEntry, pollLoginId } from './cli-routes.ts';

export const clientChosenSession: Variant = {
  name: 'client-chosen-session',
  rule: 'a client-chosen or unknown key at /sso/key/generate?source=litellm-cli gets 400 and starts no CLI login',
  section: '2, GET /sso/key/generate',
  mechanism:
    'the relay makes a real flow for a key the gateway refused and redirects as if it were valid (first-generation flow)',
  create: (context) => createClientChosenSession(context),
};

function createClientChosenSession(context: FaultContext): Fault {
  /** client-chosen key -> the real flow made for it */
  const chosen = new Map<string, StartAnswer>();
  /** real login id -> its flow, for the completion step */
  const byLoginId = new Map<string, StartAnswer>();
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      if (isCliBrowserEntry(exchange)) return browserEntry(exchange);
      const completing = completeLoginId(exchange);
      const hijacked = completing === undefined ? undefined : byLoginId.get(completing);
      if (hijacked) return completeWithoutCode(exchange, hijacked);
      const polled = pollLoginId(exchange);
      const flow = polled === undefined ? undefined : chosen.get(polled);
      if (!flow) return false;
      context.fired({ route: 'poll', answered_for: 'client-chosen key' });
      await exchange.forward({
        path: CLI_SSO_PATHS.poll(flow.loginId),
        headers: { ...exchange.req.headers, [POLL_SECRET_HEADER]: flow.pollSecret },
      });
      return true;
    },
  };

  async function browserEntry(exchange: Exchange): Promise<boolean> {
    const key = exchange.query.get('key') ?? '';
    let flow = chosen.get(key);
    if (!flow) {
      const answer = await exchange.fetch();
      if (answer.status !== 400 || key === '') {
        exchange.reply(answer);
        return true;
      }
      flow = await startFlow(exchange);
      if (!flow) {
        exchange.reply(answer);
        return true;
      }
      chosen.set(key, flow);
      byLoginId.set(flow.loginId, flow);
    }
    context.fired({ route: 'key_generate', accepted: 'client-chosen key' });
    const query = new URLSearchParams(exchange.query);
    query.set('key', flow.loginId);
    await exchange.forward({ path: `${exchange.path}?${query.toString()}` });
    return true;
  }

  async function completeWithoutCode(exchange: Exchange, flow: StartAnswer): Promise<boolean> {
    const form = new URLSearchParams((await exchange.requestBody()).toString('utf8'));
    form.set('user_code', flow.userCode);
    context.fired({ route: 'complete', code: 'not asked (first-generation flow)' });
    await exchange.forward({ body: Buffer.from(form.toString()) });
    return true;
  }
}

async function startFlow(exchange: Exchange): Promise<StartAnswer | undefined> {
  const answer = await exchange.fetch({
    method: 'POST',
    path: CLI_SSO_PATHS.start,
    headers: { host: exchange.req.headers.host ?? 'localhost', accept: 'application/json' },
    body: Buffer.alloc(0),
  });
  if (answer.status !== 200) return undefined;
  try {
    return parseStartAnswer(jsonOf(answer));
  } catch {
    return undefined;
  }
}
