/**
 * Starting gateways for a scenario and reading how they were configured (docs/contract.md
 * section 3): the scenario's own gateway when starting it is what is judged, and the stores that
 * replicas of it share.
 */
import { GatewayUnavailable, type RunningGateway, settingOf } from '../drivers/gateway.ts';
import { PostgresServer } from '../drivers/postgres-server.ts';
import { type RedisPersistence, RedisServer } from '../drivers/redis-server.ts';
import { StoreRelay } from '../drivers/store-relay.ts';
import { SECRET_IN_BODY_CLIENT_ID } from '../support/harness.ts';
import type { StartOutcome } from '../support/scenario-state.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';

/**
 * Start the scenario's gateway with its settings, where refusing to start is an outcome to judge
 * rather than a failure of the target: whether it started, and what it printed or why it did not.
 */
export async function startGatewayAsConfigured(
  world: ConformanceWorld,
): Promise<{ outcome: StartOutcome; gateway?: RunningGateway }> {
  try {
    const gateway = await world.gateway();
    return { outcome: { started: true, output: gateway.log() }, gateway };
  } catch (error) {
    if (!(error instanceof GatewayUnavailable)) throw error;
    return { outcome: { started: false, output: error.reason } };
  }
}

/** The base URL the gateway was told it is served at (PROXY_BASE_URL), or else the one it listens on. */
export function publicBaseUrl(gateway: RunningGateway): string {
  return settingOf(gateway, 'PROXY_BASE_URL') ?? gateway.url;
}

/** A Redis server for this scenario alone (stopped after it); the scenario is skipped without redis-server. */
export async function startSharedRedis(world: ConformanceWorld, persistence?: RedisPersistence): Promise<RedisServer> {
  const { redisServer, workDir, baseEnv } = world.parameters;
  if (!redisServer) throw new ConfigurationNotOffered('needs redis-server, which is not installed');
  const redis = await RedisServer.start(redisServer, workDir, baseEnv, persistence);
  world.cleanups.push(() => redis.stop());
  return redis;
}

/** A relay between replicas and their Redis that the harness can make fail (store-relay.ts); closed after the scenario. */
export async function startStoreRelay(world: ConformanceWorld, redis: RedisServer): Promise<StoreRelay> {
  const relay = await StoreRelay.start('127.0.0.1', redis.port);
  world.cleanups.push(() => relay.close());
  return relay;
}

/** A PostgreSQL server for this scenario alone (stopped after it); the scenario is skipped without one. */
export async function startSharedDatabase(world: ConformanceWorld): Promise<PostgresServer> {
  const { postgres, workDir, baseEnv } = world.parameters;
  if (!postgres)
    throw new ConfigurationNotOffered(
      'needs PostgreSQL server binaries, which are not installed (as root: apt-get install -y postgresql)',
    );
  const database = await PostgresServer.start(postgres, workDir, baseEnv);
  world.cleanups.push(() => database.stop());
  return database;
}

/**
 * How long the gateway's CLI keys live, in seconds, as the scenario's gateway was configured
 * (CLI_JWT_EXPIRATION_HOURS wins over LITELLM_CLI_JWT_EXPIRATION_HOURS, as in LiteLLM; 24 h unset).
 */
export async function configuredKeyLifetimeSeconds(world: ConformanceWorld): Promise<number> {
  const gateway = await world.gateway();
  const hours = [settingOf(gateway, 'CLI_JWT_EXPIRATION_HOURS'), settingOf(gateway, 'LITELLM_CLI_JWT_EXPIRATION_HOURS')]
    .map((value) => value?.trim())
    .find((value) => value !== undefined && value !== '');
  return (hours === undefined ? 24 : Number(hours)) * 3600;
}

/**
 * Make the gateway the IdP's client that authenticates with its id and secret in the token
 * request's body (client_secret_post), with GENERIC_INCLUDE_CLIENT_ID=true (CLISSO-CALLBACK-09): the
 * IdP refuses that client's code exchange authenticated any other way.
 */
export async function useSecretInBodyClient(world: ConformanceWorld): Promise<void> {
  const client = (await world.harness()).idp.gatewayEnv(SECRET_IN_BODY_CLIENT_ID);
  world.gatewayOverrides.GENERIC_CLIENT_ID = client.GENERIC_CLIENT_ID ?? SECRET_IN_BODY_CLIENT_ID;
  if (client.GENERIC_CLIENT_SECRET !== undefined)
    world.gatewayOverrides.GENERIC_CLIENT_SECRET = client.GENERIC_CLIENT_SECRET;
  world.gatewayOverrides.GENERIC_INCLUDE_CLIENT_ID = 'true';
}
