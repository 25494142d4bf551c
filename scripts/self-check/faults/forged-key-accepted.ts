/**
 * forged-key-accepted — breaks docs/contract.md section 6: checking a key means checking its
 * signature, its `alg`, its `exp` and its `iss` (unknown, tampered or missing key -> 401, section
 * 2.6).
 *
 * Mechanism: a gateway that reads a key's claims without checking who signed it. When the gateway
 * refuses a bearer JWT on `/models` or `/v1/models` with 401, the relay signs the same claims with
 * the gateway's own key and asks again, so tampered, `alg: none` and foreign-key keys are accepted
 * with whatever claims they carry.
 */
import { decodeJwt, SignJWT } from 'jose';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import type { Exchange } from '../relay.ts';
import { bearerOf, isModelsCall } from './cli-routes.ts';
import { cliKeySigningKey } from './signing-key.ts';

export const forgedKeyAccepted: Variant = {
  name: 'forged-key-accepted',
  rule: 'a key whose signature or alg does not verify (tampered, alg none, another signer) gets 401',
  section: '6 (and 2, GET /models)',
  mechanism: "a bearer JWT the gateway refuses with 401 is signed again with the gateway's own key and retried",
  create: (context) => createForgedKeyAccepted(context),
};

function createForgedKeyAccepted(context: FaultContext): Fault {
  const signingKey = cliKeySigningKey(context.env);
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      const presented = bearerOf(exchange);
      if (!signingKey || !isModelsCall(exchange) || presented === undefined) return false;
      const answer = await exchange.fetch();
      const claims = answer.status === 401 ? claimsOf(presented) : undefined;
      if (!claims) {
        exchange.reply(answer);
        return true;
      }
      const resigned = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(signingKey);
      const retried = await exchange.fetch({
        headers: { ...exchange.req.headers, authorization: `Bearer ${resigned}` },
      });
      if (retried.status === 200) context.fired({ route: exchange.path, upstream_status: 401, after_resigning: 200 });
      exchange.reply(retried.status === 200 ? retried : answer);
      return true;
    },
  };
}

/** The claims of anything shaped like a JWT, signed or not. */
function claimsOf(token: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}
