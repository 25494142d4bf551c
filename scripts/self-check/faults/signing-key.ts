/**
 * The reference proxy's CLI-key signing key (docs/contract.md section 6, reference choice: HS256,
 * key derived from LITELLM_SALT_KEY or else LITELLM_MASTER_KEY), with the proxy's own derivation.
 * Faults that re-sign keys first check that the gateway's own key verifies with it, and do nothing
 * otherwise, so a drift shows up as "fault never fired", not as a false catch.
 */
import type { Env } from '../../../common/config.ts';
import { CLI_KEY_PURPOSE, deriveSigningKey } from '../../../reference-proxy/index.ts';

export function cliKeySigningKey(env: Env): Uint8Array | undefined {
  const salt = env.LITELLM_SALT_KEY?.trim();
  const secret = salt ? salt : env.LITELLM_MASTER_KEY?.trim();
  return secret ? deriveSigningKey(secret, CLI_KEY_PURPOSE) : undefined;
}
