/**
 * The reference proxy's CLI-key signing key (protocol.md section 6, reference choice: HS256, key
 * derived from LITELLM_SALT_KEY or else LITELLM_MASTER_KEY). The derivation is the one in
 * reference-proxy/key-issuer.ts (`deriveSigningKey(secret, 'cli-key')`), written again here because
 * scripts/ may reach the reference proxy only through its index.ts, which does not export it.
 * Faults that re-sign keys first check that the gateway's own key verifies with it, and do nothing
 * otherwise, so a drift in the derivation shows up as "fault never fired", not as a false catch.
 */
import { createHash } from 'node:crypto';
import type { Env } from '../../../common/config.ts';

export function cliKeySigningKey(env: Env): Uint8Array | undefined {
  const salt = env.LITELLM_SALT_KEY?.trim();
  const secret = salt ? salt : env.LITELLM_MASTER_KEY?.trim();
  if (!secret) return undefined;
  return new Uint8Array(createHash('sha256').update(`litellm-reference-proxy/cli-key\0${secret}`).digest());
}
