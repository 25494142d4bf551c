import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import type { RunningGateway } from '../drivers/gateway.ts';
import type { PostgresServer } from '../drivers/postgres-server.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';
import {
  expectReady,
  pollSession,
  pollUntilSettled,
  reachCompletionPage,
  signInAtIdp,
  startSession,
} from '../tasks/browser-login.ts';
import { codePageShown, confirmCodeOn } from '../tasks/code-confirmation.ts';
import { expectModelList } from '../tasks/gateway-answers.ts';
import { startSharedDatabase, startSharedRedis } from '../tasks/gateway-setup.ts';
import { expectMetadataKeys, storedMetadata, userRow } from '../tasks/gateway-users.ts';

function replica(world: ConformanceWorld, index: number): RunningGateway {
  const replicas = world.state.replicas;
  const gateway = replicas?.[index - 1];
  assert.ok(gateway, `there is no replica ${index}`);
  return gateway;
}

/** Two replicas of the scenario's gateway configuration, sharing a Redis and, when given, a user database. */
async function startReplicas(world: ConformanceWorld, withDatabase: boolean): Promise<void> {
  const h = await world.harness();
  if (h.gateways.target.kind === 'url')
    throw new ConfigurationNotOffered('is a running gateway: the harness cannot start replicas of it');
  const redis = await startSharedRedis(world);
  world.state.redis = redis;
  const shared: Record<string, string> = { REDIS_URL: redis.url };
  if (withDatabase) {
    const database = await startSharedDatabase(world);
    world.state.database = database;
    shared.DATABASE_URL = database.url;
  }
  const replicas: RunningGateway[] = [];
  for (const number of [1, 2]) {
    const gateway = await h.gateways.acquire(
      await world.gatewayEnv({ ...shared, SSO_CONFORMANCE_REPLICA: String(number) }),
    );
    world.cleanups.push(() => h.gateways.retire(gateway));
    replicas.push(gateway);
  }
  world.state.replicas = replicas;
}

Given('two gateway replicas that share a Redis', async function (this: ConformanceWorld) {
  await startReplicas(this, false);
});

/** LiteLLM's replicas share one database (DATABASE_URL); a gateway may keep its users anywhere shared. */
Given(
  'two gateway replicas that share a Redis and a PostgreSQL user database',
  async function (this: ConformanceWorld) {
    await startReplicas(this, true);
  },
);

When('the Redis stops', async function (this: ConformanceWorld) {
  const redis = this.state.redis;
  assert.ok(redis, 'the replicas share no Redis');
  await redis.stop();
});

function database(world: ConformanceWorld): PostgresServer {
  const server = world.state.database;
  assert.ok(server, 'the replicas share no user database');
  return server;
}

When('the user database stops', async function (this: ConformanceWorld) {
  await database(this).stop();
});

When('the user database is back', async function (this: ConformanceWorld) {
  await database(this).restart();
});

/** A later login from a fresh browser session: no IdP session cookie, so the person signs in again. */
When('the person opens a new browser session', async function (this: ConformanceWorld) {
  await this.browserPage();
  await this.context?.clearCookies();
});

When('a CLI starts a login session on replica {int}', async function (this: ConformanceWorld, index: number) {
  await startSession(this, replica(this, index));
});

When(
  '{string} signs in through replica {int} and the code is confirmed on replica {int}',
  async function (this: ConformanceWorld, username: string, signInReplica: number, confirmReplica: number) {
    await reachCompletionPage(this, username, replica(this, signInReplica).url);
    // The browser's form post lands on another replica, as behind a load balancer.
    const answer = await confirmCodeOn(this, replica(this, confirmReplica));
    assert.equal(
      answer.status,
      200,
      `completing on replica ${confirmReplica} answered ${answer.status}: ${answer.text.slice(0, 200)}`,
    );
  },
);

Then(
  'polling replica {int} with the poll secret hands out the key',
  async function (this: ConformanceWorld, index: number) {
    expectReady(this, await pollUntilSettled(this, {}, replica(this, index).url));
  },
);

Then(
  'polling replica {int} again is refused with {int}',
  async function (this: ConformanceWorld, index: number, status: number) {
    // The key is handed out once: the shared store deleted the flow for every replica.
    const answer = await pollSession(this, {}, replica(this, index).url);
    assert.equal(answer.status, status, `replica ${index} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  },
);

Then(
  'the key lists the models {string} on replica {int}',
  async function (this: ConformanceWorld, names: string, index: number) {
    const answer = await (await this.http(replica(this, index))).models(this.key);
    expectModelList(answer, `GET /models on replica ${index}`, names);
  },
);

Then(
  'replica {int} stored this metadata on user {string}:',
  async function (this: ConformanceWorld, index: number, userId: string, json: string) {
    const metadata = await storedMetadata(this, userId, replica(this, index));
    expectMetadataKeys(metadata, JSON.parse(json) as Record<string, unknown>);
  },
);

Then(
  'replica {int} shows user {string} with the email {string}',
  async function (this: ConformanceWorld, index: number, userId: string, email: string) {
    const row = await userRow(this, userId, replica(this, index));
    assert.equal(row.user_email, email, `user_info.user_email on replica ${index}`);
  },
);

When(
  '{string} signs in through replica {int}',
  async function (this: ConformanceWorld, username: string, index: number) {
    this.state.signInAnswer = await signInAtIdp(this, username, replica(this, index).url);
  },
);

/**
 * A gateway that cannot reach a store it needs says so with 503 (CLISSO-STORE-02's rule); one that
 * does not need it for this step shows its completion page. A 500, another error or no page fails.
 */
Then(
  "the gateway's answer to the sign-in was 503 or its completion page, never another error",
  async function (this: ConformanceWorld) {
    const answer = this.state.signInAnswer;
    assert.ok(answer, 'the sign-in navigation got no answer');
    if (answer.status === 503) return;
    assert.equal(
      answer.status,
      200,
      `the sign-in ended at ${answer.url} with ${answer.status}, not 503 or the completion page`,
    );
    assert.ok(await codePageShown(this), `the sign-in ended at ${answer.url} with 200 but no completion page`);
  },
);
