/**
 * wrong-expiry — breaks docs/contract.md section 6: the key's `exp` = `iat` + hours x 3600
 * (LITELLM_CLI_JWT_EXPIRATION_HOURS, default 24).
 *
 * Mechanism: the ready poll answer's key is re-signed (HS256, the reference proxy's own key, so the
 * gateway accepts it) with `exp` = `iat` + 2 x the lifetime the gateway chose. The answer's
 * `expires_in` is left as the gateway wrote it: the answer tells the configured lifetime, the key
 * lives twice as long. Only the key's behaviour on the API (refused just after expiry) shows it.
 */
import { compactVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import { type Exchange, jsonOf, withJson } from '../relay.ts';
import { pollLoginId } from './cli-routes.ts';
import { cliKeySigningKey } from './signing-key.ts';

export const wrongExpiry: Variant = {
  name: 'wrong-expiry',
  rule: 'the CLI key expires LITELLM_CLI_JWT_EXPIRATION_HOURS after it is issued (exp = iat + hours x 3600)',
  section: '6',
  mechanism: "the ready answer's key is re-signed with exp = iat + 2 x the configured lifetime; expires_in unchanged",
  create: (context) => createWrongExpiry(context),
};

const lifetimeClaims = z.looseObject({ iat: z.number().int(), exp: z.number().int() });

function createWrongExpiry(context: FaultContext): Fault {
  const signingKey = cliKeySigningKey(context.env);
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      if (pollLoginId(exchange) === undefined || !signingKey) return false;
      const answer = await exchange.fetch();
      const body = jsonOf(answer);
      if (answer.status !== 200 || !isReadyWithKey(body)) {
        exchange.reply(answer);
        return true;
      }
      const longer = await extendLifetime(body.key, signingKey);
      if (!longer) {
        context.logger.warn('fault_not_applicable', { reason: 'the key does not verify with the derived signing key' });
        exchange.reply(answer);
        return true;
      }
      context.fired({ route: 'poll', exp_was: longer.expWas, exp_now: longer.expNow });
      exchange.reply(withJson(answer, 200, { ...body, key: longer.key }));
      return true;
    },
  };
}

function isReadyWithKey(body: unknown): body is Record<string, unknown> & { key: string } {
  return typeof body === 'object' && body !== null && 'key' in body && typeof body.key === 'string';
}

async function extendLifetime(
  key: string,
  signingKey: Uint8Array,
): Promise<{ key: string; expWas: number; expNow: number } | undefined> {
  try {
    const { payload, protectedHeader } = await compactVerify(key, signingKey, { algorithms: ['HS256'] });
    const claims = lifetimeClaims.parse(JSON.parse(new TextDecoder().decode(payload)));
    const expNow = claims.iat + 2 * (claims.exp - claims.iat);
    const resigned = await new SignJWT({ ...claims, exp: expNow }).setProtectedHeader(protectedHeader).sign(signingKey);
    return { key: resigned, expWas: claims.exp, expNow };
  } catch {
    return undefined;
  }
}
