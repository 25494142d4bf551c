import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import { parseStartAnswer } from '../../protocol/cli-sso.ts';
import { ConfigurationNotOffered, type RunningGateway } from '../drivers/gateway.ts';
import { GatewayHttp } from '../drivers/gateway-http.ts';
import { RedisServer } from '../drivers/redis-server.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { expectReady, pollSession, pollUntilSettled, reachCompletionPage } from '../tasks/browser-login.ts';
import { expectModelList } from '../tasks/gateway-answers.ts';

function replica(world: ConformanceWorld, index: number): RunningGateway {
  const replicas = world.memory.get('replicas') as RunningGateway[] | undefined;
  const gateway = replicas?.[index - 1];
  assert.ok(gateway, `there is no replica ${index}`);
  return gateway;
}

Given('two gateway replicas that share a Redis', async function (this: ConformanceWorld) {
  const h = await this.harness();
  if (h.gateways.target.kind === 'url')
    throw new ConfigurationNotOffered('is a running gateway: the harness cannot start replicas of it');
  if (!this.parameters.redisServer) throw new ConfigurationNotOffered('needs redis-server, which is not installed');
  const redis = await RedisServer.start(this.parameters.redisServer, this.parameters.workDir, this.parameters.baseEnv);
  this.cleanups.push(() => redis.stop());
  this.memory.set('redis', redis);
  const replicas: RunningGateway[] = [];
  for (const number of [1, 2]) {
    const gateway = await h.gateways.acquire(
      await this.gatewayEnv({ REDIS_URL: redis.url, SSO_CONFORMANCE_REPLICA: String(number) }),
    );
    this.cleanups.push(() => h.gateways.retire(gateway));
    replicas.push(gateway);
  }
  this.memory.set('replicas', replicas);
});

When('the Redis stops', async function (this: ConformanceWorld) {
  await (this.memory.get('redis') as RedisServer).stop();
});

When('a CLI starts a login session on replica {int}', async function (this: ConformanceWorld, index: number) {
  const gateway = replica(this, index);
  await gateway.admitLoginStart();
  const answer = await new GatewayHttp(gateway.url).start();
  this.lastAnswer = answer;
  if (answer.status === 200) this.flow = parseStartAnswer(answer.json);
});

When(
  '{string} signs in through replica {int} and the code is confirmed on replica {int}',
  async function (this: ConformanceWorld, username: string, signInReplica: number, confirmReplica: number) {
    const page = await reachCompletionPage(this, username, replica(this, signInReplica).url);
    // The browser's form post lands on another replica, as behind a load balancer.
    const form = await page.formDetails();
    const confirmOn = new GatewayHttp(replica(this, confirmReplica).url);
    const answer = await confirmOn.complete(this.flow?.loginId ?? '', {
      user_code: this.flow?.userCode ?? '',
      browser_complete_token: form.browserCompleteToken,
    });
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
    const answer = await new GatewayHttp(replica(this, index).url).models(this.key);
    expectModelList(answer, `GET /models on replica ${index}`, names);
  },
);
