/**
 * code-not-checked — breaks docs/contract.md section 2.4 (POST /sso/cli/complete): the normalised
 * code and the browser token must both match, or the answer is 400 Invalid verification code and
 * the flow stays as it was (and the reference choice: the fifth wrong code deletes the flow).
 *
 * Mechanism: the relay keeps each flow's user code from the start answer and puts it in the
 * completion form in place of whatever the browser typed, so any code completes the login.
 */
import { normalizeUserCode } from '../../../protocol/cli-sso.ts';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import type { Exchange } from '../relay.ts';
import { completeLoginId, isStart, relayStart } from './cli-routes.ts';

export const codeNotChecked: Variant = {
  name: 'code-not-checked',
  rule: 'the completion needs the verification code the CLI showed; a wrong code gets 400 and changes nothing',
  section: '2, POST /sso/cli/complete',
  mechanism: "the relay keeps each flow's code and replaces the code typed in the browser with it",
  create: (context) => createCodeNotChecked(context),
};

function createCodeNotChecked(context: FaultContext): Fault {
  const codes = new Map<string, string>();
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      if (isStart(exchange)) {
        const started = await relayStart(exchange);
        if (started) codes.set(started.loginId, started.userCode);
        return true;
      }
      const loginId = completeLoginId(exchange);
      const code = loginId === undefined ? undefined : codes.get(loginId);
      if (code === undefined) return false;
      const form = new URLSearchParams((await exchange.requestBody()).toString('utf8'));
      const typed = form.get('user_code');
      if (typed !== null && normalizeUserCode(typed) === normalizeUserCode(code)) return false;
      form.set('user_code', code);
      context.fired({ route: 'complete', typed: typed === null ? 'nothing' : 'a wrong code' });
      await exchange.forward({ body: Buffer.from(form.toString()) });
      return true;
    },
  };
}
