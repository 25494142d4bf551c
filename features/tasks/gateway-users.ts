/**
 * People on both sides of a login: users added to the harness's mock IdP for one scenario (the IdP's
 * reset after the scenario removes them), and the user row the gateway keeps, as GET /user/info
 * shows it to the master key (docs/contract.md section 2).
 */
import assert from 'node:assert/strict';
import type { Claims } from '../../mock-idp/index.ts';
import type { RunningGateway } from '../drivers/gateway.ts';
import { GatewayHttp, type HttpAnswer } from '../drivers/gateway-http.ts';
import type { ConformanceWorld } from '../support/world.ts';

/** Claims written in a step's doc string: a JSON object. */
export function claimsFrom(json: string): Claims {
  const claims = JSON.parse(json) as unknown;
  assert.ok(
    typeof claims === 'object' && claims !== null && !Array.isArray(claims),
    'the claims must be a JSON object',
  );
  return claims as Claims;
}

/** A person the built-in cast does not have, for this scenario only. */
export async function addIdpUser(world: ConformanceWorld, username: string, claims: Claims): Promise<void> {
  const h = await world.harness();
  assert.equal(h.idp.users.get(username), undefined, `the IdP already has a user "${username}"`);
  h.idp.users.put({ username, claims });
}

/**
 * GET /user/info?user_id=... with the master key, as the scenario's gateway answers it (or
 * `replica`, when the scenario runs several).
 */
export async function userRowAnswer(
  world: ConformanceWorld,
  userId: string,
  replica?: RunningGateway,
): Promise<HttpAnswer> {
  const gateway = replica ?? (await world.gateway());
  const masterKey = gateway.env.LITELLM_MASTER_KEY;
  assert.ok(masterKey, 'the gateway has no declared LITELLM_MASTER_KEY');
  const http = replica ? new GatewayHttp(replica.url) : await world.http();
  return http.userInfo(userId, masterKey);
}

/** The gateway's user row (`user_info`) for `userId`. */
export async function userRow(
  world: ConformanceWorld,
  userId: string,
  replica?: RunningGateway,
): Promise<Record<string, unknown>> {
  const answer = await userRowAnswer(world, userId, replica);
  assert.equal(
    answer.status,
    200,
    `GET /user/info?user_id=${userId} answered ${answer.status}: ${answer.text.slice(0, 200)}`,
  );
  const body = answer.json;
  const info = typeof body === 'object' && body !== null && 'user_info' in body ? body.user_info : undefined;
  assert.ok(typeof info === 'object' && info !== null, `no user_info in ${answer.text.slice(0, 200)}`);
  return info as Record<string, unknown>;
}

/**
 * The attribution metadata stored on the gateway's user (`user_info.metadata`, docs/contract.md
 * section 5).
 */
export async function storedMetadata(
  world: ConformanceWorld,
  userId: string,
  replica?: RunningGateway,
): Promise<Record<string, unknown>> {
  const { metadata } = await userRow(world, userId, replica);
  assert.ok(
    typeof metadata === 'object' && metadata !== null,
    `GET /user/info?user_id=${userId} shows no user_info.metadata object`,
  );
  return metadata as Record<string, unknown>;
}

/** A value for a message: JSON with its type, cut short (long claim values are test fixtures). */
export function shown(value: unknown): string {
  const json = JSON.stringify(value);
  return json === undefined ? 'nothing' : `${json.length > 60 ? `${json.slice(0, 60)}...` : json} (${typeof value})`;
}

/** Each key of `expected` holds exactly that value in the stored metadata (other keys may exist). */
export function expectMetadataKeys(metadata: Record<string, unknown>, expected: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(
      metadata[key],
      value,
      `user_info.metadata.${key}: expected ${shown(value)}, got ${shown(metadata[key])}`,
    );
  }
}
