import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import type { RunningGateway } from '../drivers/gateway.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import type { PostgresServer } from '../drivers/postgres-server.ts';
import type { RedisPersistence } from '../drivers/redis-server.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';
import {
  expectReady,
  pollSession,
  pollUntilSettled,
  reachCompletionPage,
  signInAtIdp,
  startOneMore,
  startSession,
  startWithinAMinute,
} from '../tasks/browser-login.ts';
import { codePageShown, confirmCodeOn } from '../tasks/code-confirmation.ts';
import { expectModelList, expectRefusal } from '../tasks/gateway-answers.ts';
import { startSharedDatabase, startSharedRedis, startStoreRelay } from '../tasks/gateway-setup.ts';
import { expectMetadataKeys, storedMetadata, userRow } from '../tasks/gateway-users.ts';
import { codeFor, expectTokens, nativeEndpointsOn, redeemCode, refreshTokens } from '../tasks/native-cli.ts';
import { describePoll, type LostAnswerRound, loseThePollAnswer, storeTrouble } from '../tasks/store-faults.ts';

function replica(world: ConformanceWorld, index: number): RunningGateway {
  const replicas = world.state.replicas;
  const gateway = replicas?.[index - 1];
  assert.ok(gateway, `there is no replica ${index}`);
  return gateway;
}

interface ReplicaSetting {
  withDatabase?: boolean;
  persistence?: RedisPersistence;
  /** The replicas reach Redis through a relay the harness can make fail (features/drivers/store-relay.ts). */
  throughRelay?: boolean;
}

/** Two replicas of the scenario's gateway configuration, sharing a Redis and, when given, a user database. */
async function startReplicas(world: ConformanceWorld, setting: ReplicaSetting = {}): Promise<void> {
  const withDatabase = setting.withDatabase ?? false;
  const h = await world.harness();
  if (h.gateways.target.kind === 'url')
    throw new ConfigurationNotOffered('is a running gateway: the harness cannot start replicas of it');
  const redis = await startSharedRedis(world, setting.persistence);
  world.state.redis = redis;
  const shared: Record<string, string> = { REDIS_URL: redis.url };
  if (setting.throughRelay) {
    const relay = await startStoreRelay(world, redis);
    world.state.storeRelay = relay;
    shared.REDIS_URL = relay.url;
  }
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
  await startReplicas(this);
});

Given(
  'two gateway replicas that share a Redis run with appendonly yes and appendfsync always',
  async function (this: ConformanceWorld) {
    await startReplicas(this, { persistence: 'aof-always' });
  },
);

Given(
  'two gateway replicas that share a Redis through a relay the harness controls',
  async function (this: ConformanceWorld) {
    await startReplicas(this, { throughRelay: true });
  },
);

/** LiteLLM's replicas share one database (DATABASE_URL); a gateway may keep its users anywhere shared. */
Given(
  'two gateway replicas that share a Redis and a PostgreSQL user database',
  async function (this: ConformanceWorld) {
    await startReplicas(this, { withDatabase: true });
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
    await signInAndConfirmOn(this, username, signInReplica, confirmReplica);
  },
);

async function signInAndConfirmOn(
  world: ConformanceWorld,
  username: string,
  signInReplica: number,
  confirmReplica: number,
): Promise<void> {
  await reachCompletionPage(world, username, replica(world, signInReplica).url);
  // The browser's form post lands on another replica, as behind a load balancer.
  const answer = await confirmCodeOn(world, replica(world, confirmReplica));
  assert.equal(
    answer.status,
    200,
    `completing on replica ${confirmReplica} answered ${answer.status}: ${answer.text.slice(0, 200)}`,
  );
}

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
    expectRefusal(await pollSession(this, {}, replica(this, index).url), status, `the poll on replica ${index}`);
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

// ---- Store faults: a Redis restart (CLISSO-STORE-07) and a poll answer lost to a store failure (CLISSO-STORE-05, -06)

When('the harness sets this login aside as {string}', function (this: ConformanceWorld, name: string) {
  assert.ok(this.flow, 'no login session was started');
  this.state.setAside = { ...this.state.setAside, [name]: this.flow };
});

When('the harness takes up the login {string} again', function (this: ConformanceWorld, name: string) {
  const flow = this.state.setAside?.[name];
  assert.ok(flow, `no login was set aside as "${name}"`);
  this.flow = flow;
});

/** SIGKILL: no shutdown save, no last flush; what Redis kept is what its persistence settings kept. */
When('the Redis is killed and started again on its own data', async function (this: ConformanceWorld) {
  const began = Date.now();
  const redis = this.state.redis;
  assert.ok(redis, 'the replicas share no Redis');
  await redis.crashAndRestart();
  this.state.redisBackAtMs = Date.now();
  this.attach(`Redis killed and ready again in ${Date.now() - began} ms`, 'text/plain');
});

/**
 * Wire-observable: each replica answers the pending login's poll with "pending" again (the flow
 * is still there and the gateway talks to its store again) within the deadline, without a restart.
 * 5xx and no answer are what a reconnecting gateway may say meanwhile.
 */
Then(
  'each replica answers the poll of this login with "pending" again within {int} s, without a restart',
  async function (this: ConformanceWorld, seconds: number) {
    const flow = this.flow;
    assert.ok(flow, 'no login session was started');
    for (const index of [1, 2]) {
      const http = await this.http(replica(this, index));
      const deadline = Date.now() + seconds * 1000;
      let seen = '';
      for (;;) {
        const answer: HttpAnswer | undefined = await http
          .poll({ loginId: flow.loginId, pollSecret: flow.pollSecret })
          .catch((error: Error) => {
            seen = `no answer (${error.message})`;
            return undefined;
          });
        if (answer && answer.status < 500) {
          assert.equal(answer.status, 200, `replica ${index} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
          assert.deepEqual(
            answer.json,
            { status: 'pending' },
            `replica ${index} answered ${answer.text.slice(0, 200)}`,
          );
          const backAtMs = this.state.redisBackAtMs;
          if (typeof backAtMs === 'number')
            this.attach(
              `replica ${index} answering again ${Date.now() - backAtMs} ms after Redis was ready`,
              'text/plain',
            );
          break;
        }
        if (answer) seen = `${answer.status} ${answer.text.slice(0, 200)}`;
        assert.ok(
          Date.now() < deadline,
          `replica ${index} was not answering again ${seconds} s after Redis was back: ${seen}`,
        );
        // A poll interval until the deadline above, not a sleep standing in for a condition.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  },
);

When(
  'the store fails right after each write in turn of the poll that would hand out the key, one login for each',
  async function (this: ConformanceWorld) {
    const relay = this.state.storeRelay;
    assert.ok(relay, 'the replicas reach their Redis through no relay');
    const rounds = await loseThePollAnswer({
      relay,
      pollOn: replica(this, 1).url,
      retryOn: replica(this, 2).url,
      confirmedLogin: async () => {
        await this.browserPage();
        await this.context?.clearCookies();
        await startSession(this, replica(this, 1));
        assert.ok(this.flow, `POST /sso/cli/start answered ${this.lastAnswer?.status}`);
        const flow = this.flow;
        await signInAndConfirmOn(this, 'cli-test-user', 1, 2);
        return flow;
      },
    });
    this.state.lostAnswerRounds = rounds;
    this.attach(JSON.stringify(rounds.map(roundEvidence), null, 2), 'application/json');
  },
);

function lostAnswerRounds(world: ConformanceWorld): LostAnswerRound[] {
  const rounds = world.state.lostAnswerRounds;
  assert.ok(rounds, 'the store was not made to fail');
  return rounds;
}

/** What a report may show of a round: statuses and summaries, never a key. */
function roundEvidence(round: LostAnswerRound): unknown {
  const seen = (p: LostAnswerRound['inFlight']) => ({ status: p.status ?? 'no answer', key: p.key ? 'yes' : 'no' });
  return {
    storeFailedAfterWrite: round.storeFailed ? round.write : `none: the poll answered before write ${round.write}`,
    inFlight: seen(round.inFlight),
    retries: round.retries.map(seen),
    strangers: round.strangers.map(seen),
  };
}

Then(
  'each poll cut off that way got 503 or no answer, unless its key had gone out already',
  function (this: ConformanceWorld) {
    const rounds = lostAnswerRounds(this);
    const failed = rounds.filter((r) => r.storeFailed);
    assert.ok(
      failed.length > 0,
      'the poll that hands out the key wrote nothing to Redis: the store never failed under it',
    );
    for (const round of failed) {
      if (round.inFlight.key) continue;
      assert.ok(
        storeTrouble(round.inFlight),
        `the store failed after write ${round.write} of the poll, which then answered ${describePoll(round.inFlight)}`,
      );
    }
  },
);

Then(
  'the same CLI, polling again at its pace once the store was back, got the key each time',
  function (this: ConformanceWorld) {
    for (const round of lostAnswerRounds(this).filter((r) => r.storeFailed && !r.inFlight.key)) {
      const last = round.retries.at(-1);
      assert.ok(last, `after the failure at write ${round.write} the CLI did not poll again`);
      assert.ok(
        last.key,
        `the store failed after write ${round.write} of the poll that would hand out the key, which answered ${describePoll(round.inFlight)}; ` +
          `the same CLI polling again (same login id and poll secret) got ${round.retries.map(describePoll).join(', then ')}`,
      );
    }
  },
);

Then(
  'every key handed out lists the models {string} on replica {int}',
  async function (this: ConformanceWorld, names: string, index: number) {
    const keys = lostAnswerRounds(this).flatMap((r) => [r.inFlight.key, ...r.retries.map((p) => p.key)]);
    for (const key of keys.filter((k): k is string => k !== undefined)) {
      expectModelList(
        await (await this.http(replica(this, index))).models(key),
        `GET /models on replica ${index}`,
        names,
      );
    }
  },
);

Then('no poll with another poll secret got a key', function (this: ConformanceWorld) {
  const rounds = lostAnswerRounds(this);
  assert.ok(
    rounds.some((r) => r.storeFailed),
    'the store never failed under the poll',
  );
  for (const round of rounds) {
    for (const stranger of round.strangers) {
      assert.equal(
        stranger.key,
        undefined,
        `after the store failed at write ${round.write} of the poll, a poll with another secret got a key`,
      );
      assert.ok(
        stranger.status === undefined || stranger.status >= 400,
        `after the store failed at write ${round.write}, a poll with another secret answered ${describePoll(stranger)}`,
      );
    }
  }
});

// ---- The PKCE-native login across replicas (CLISSO-NATIVE-10, CLISSO-NATIVE-14) ----

/** The native CLI's walk through replica N: its discovery document, authorize, sign-in, consent. */
async function nativeCodeThrough(world: ConformanceWorld, username: string, index: number): Promise<void> {
  world.state.nativeEndpoints = await nativeEndpointsOn(world, replica(world, index));
  await codeFor(world, username);
}

Given(
  'a native CLI got a code for {string} through replica {int}',
  async function (this: ConformanceWorld, username: string, index: number) {
    await nativeCodeThrough(this, username, index);
  },
);

Given(
  'a native CLI signed in as {string} through replica {int}',
  async function (this: ConformanceWorld, username: string, index: number) {
    await nativeCodeThrough(this, username, index);
    expectTokens(await redeemCode(this));
  },
);

When(
  'the CLI redeems the code with its verifier on replica {int}',
  async function (this: ConformanceWorld, index: number) {
    await redeemCode(this, {}, await nativeEndpointsOn(this, replica(this, index)));
  },
);

When('the CLI refreshes its tokens on replica {int}', async function (this: ConformanceWorld, index: number) {
  await refreshTokens(this, undefined, undefined, await nativeEndpointsOn(this, replica(this, index)));
});

When(
  'the CLI refreshes with the refresh token it replaced on replica {int}',
  async function (this: ConformanceWorld, index: number) {
    const replaced = this.state.replacedRefreshToken;
    assert.ok(replaced, 'no refresh token was replaced');
    await refreshTokens(this, replaced, undefined, await nativeEndpointsOn(this, replica(this, index)));
  },
);

// The same limit on a gateway that counts the starts in its shared store (CLISSO-START-04 holds
// whatever the store): the starts all go to one replica, since the contract does not say whether
// replicas share the count.
When(
  'a CLI starts {int} login sessions within a minute on replica {int}',
  async function (this: ConformanceWorld, count: number, index: number) {
    await startWithinAMinute(this, count, replica(this, index));
  },
);

When('it starts one more on replica {int}', async function (this: ConformanceWorld, index: number) {
  await startOneMore(this, replica(this, index));
});
