/**
 * code-step-skipped — breaks docs/contract.md section 2.5, poll step 3: until the callback and the
 * code confirmation are done the poll answers 200 {"status":"pending"}: the key must wait until the
 * person typed the code the CLI showed.
 *
 * Mechanism: the relay keeps each flow's user code (start answer) and browser token (the hidden
 * input of the "Complete CLI Login" page it relays); on the first poll after the callback it posts
 * the completion itself, so the CLI gets its key as soon as the IdP sign-in is done.
 */
import { parse as parseHtml } from 'node-html-parser';
import { CLI_SSO_PATHS, CLI_STATE_PREFIX } from '../../../protocol/cli-sso.ts';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import type { Exchange } from '../relay.ts';
import { isStart, pollLoginId, relayStart } from './cli-routes.ts';

export const codeStepSkipped: Variant = {
  name: 'code-step-skipped',
  rule: 'no key before the code is confirmed in the browser: until then the poll answers pending',
  section: '2, GET /sso/cli/poll (step 3)',
  mechanism:
    "the relay reads the browser token from the completion page and completes the flow itself with the start answer's code",
  create: (context) => createCodeStepSkipped(context),
};

function createCodeStepSkipped(context: FaultContext): Fault {
  const codes = new Map<string, string>();
  const browserTokens = new Map<string, string>();
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      if (isStart(exchange)) {
        const started = await relayStart(exchange);
        if (started) codes.set(started.loginId, started.userCode);
        return true;
      }
      if (exchange.req.method === 'GET' && exchange.path === CLI_SSO_PATHS.callback) {
        const state = exchange.query.get('state') ?? '';
        if (!state.startsWith(CLI_STATE_PREFIX)) return false;
        const answer = await exchange.fetch();
        exchange.reply(answer);
        const token = browserTokenIn(answer.body.toString('utf8'));
        if (answer.status === 200 && token) browserTokens.set(state.slice(CLI_STATE_PREFIX.length), token);
        return true;
      }
      const loginId = pollLoginId(exchange);
      const code = loginId === undefined ? undefined : codes.get(loginId);
      const token = loginId === undefined ? undefined : browserTokens.get(loginId);
      if (loginId === undefined || code === undefined || token === undefined) return false;
      // Complete before relaying the poll, so even a held-open `Prefer: wait` poll sees the key at once.
      browserTokens.delete(loginId);
      const form = new URLSearchParams({ user_code: code, browser_complete_token: token });
      const completion = await exchange.fetch({
        method: 'POST',
        path: CLI_SSO_PATHS.complete(loginId),
        headers: {
          host: exchange.req.headers.host ?? 'localhost',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: Buffer.from(form.toString()),
      });
      if (completion.status === 200) context.fired({ route: 'poll', completed_without_the_person: true });
      return false;
    },
  };
}

function browserTokenIn(html: string): string | undefined {
  const input = parseHtml(html).querySelector('input[name="browser_complete_token"]');
  return input?.getAttribute('value') ?? undefined;
}
