import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type DataTable, Given, Then, When } from '@cucumber/cucumber';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import type { ConformanceWorld } from '../support/world.ts';
import { logInThroughBrowser } from '../tasks/browser-login.ts';
import { expectApiError, expectExpiredKeyRefusal, expectModelList } from '../tasks/gateway-answers.ts';
import { loginAnswer } from '../tasks/login-answer.ts';
import { type NearMiss, nearMiss } from '../tasks/near-misses.ts';

function heldKey(world: ConformanceWorld): string {
  assert.ok(world.key, 'no key was handed out in this scenario');
  return world.key;
}

function isJwt(key: string): boolean {
  try {
    decodeProtectedHeader(key);
    return true;
  } catch {
    return false;
  }
}

/** Keys an attacker could present instead of the real one (opaque keys get opaque forgeries). */
async function forgedKey(key: string, how: string): Promise<string | undefined> {
  const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  switch (how) {
    case 'the key with one character of its signature changed': {
      // Not the last character: in base64url its low bits are padding that decoders may ignore.
      const at = key.length - 5;
      return `${key.slice(0, at)}${key[at] === 'A' ? 'Q' : 'A'}${key.slice(at + 1)}`;
    }
    case 'the key re-signed with "alg" set to "none"':
      return isJwt(key)
        ? `${base64url({ alg: 'none', typ: 'JWT' })}.${key.split('.')[1]}.`
        : `${base64url({ alg: 'none' })}.${base64url({ sub: 'cli-test-user' })}.`;
    case "the key's claims signed with another secret": {
      const claims = isJwt(key) ? decodeJwt(key) : { sub: 'cli-test-user' };
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(randomBytes(32));
    }
    case 'the key with one character more':
      return nearMiss(key, 'with one character more');
    case 'the key without its last character':
      return nearMiss(key, 'without its last character');
    case 'the key in the other case':
      return nearMiss(key, 'in the other case');
    case 'a key the gateway never issued':
      return `sk-${randomBytes(24).toString('base64url')}`;
    case 'no key at all':
      return undefined;
    case 'the key':
      return key;
    default:
      throw new Error(`no such key variant: ${how}`);
  }
}

Given(
  '{string} logged in through the browser and holds the key',
  async function (this: ConformanceWorld, username: string) {
    // A second person logs in from a browser of their own: the IdP would sign the first in again.
    if (this.openedPage) await this.freshBrowser();
    await logInThroughBrowser(this, username);
  },
);

Given(
  '{string} logged in through the browser for the team {string} and holds the key',
  async function (this: ConformanceWorld, username: string, teamId: string) {
    if (this.openedPage) await this.freshBrowser();
    await logInThroughBrowser(this, username, teamId);
  },
);

When('the key asks GET \\/user\\/info for {string}', async function (this: ConformanceWorld, userId: string) {
  this.lastAnswer = await (await this.http()).userInfo(userId, heldKey(this));
});

Then('the gateway refuses it with 401 or 403 and shows no user row', function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  // protocol.md section 2: /user/info is the admin's; a person's key must not read someone else's row.
  assert.ok(
    answer.status === 401 || answer.status === 403,
    `GET /user/info with a key that is not the master key answered ${answer.status}: ${answer.text.slice(0, 300)}`,
  );
  assert.ok(!answer.text.includes('"user_info"'), `the refusal carries a user row: ${answer.text.slice(0, 300)}`);
});

Then(
  /^the key lists the models "([^"]*)" at "([^"]*)"$/,
  async function (this: ConformanceWorld, names: string, path: string) {
    const answer = await (await this.http()).models(heldKey(this), path);
    this.lastAnswer = answer;
    expectModelList(answer, path, names);
  },
);

When(
  /^the models are asked for(?: at "([^"]*)")? with (.+)$/,
  async function (this: ConformanceWorld, path: string | null, how: string) {
    const key = await forgedKey(heldKey(this), how);
    // Cucumber gives null for the optional route: then the default route, /models.
    this.lastAnswer = await (await this.http()).models(key, path ?? undefined);
  },
);

Given('CLI keys are configured with no lifetime setting', function (this: ConformanceWorld) {
  this.gatewayUnset.add('LITELLM_CLI_JWT_EXPIRATION_HOURS');
  this.gatewayUnset.add('CLI_JWT_EXPIRATION_HOURS');
});

Given(
  /^CLI keys are configured with (LITELLM_CLI_JWT_EXPIRATION_HOURS|CLI_JWT_EXPIRATION_HOURS) "(\d+)"$/,
  function (this: ConformanceWorld, name: string, hours: string) {
    this.gatewayOverrides[name] = hours;
  },
);

/** Move the gateway's clock (and the CLI's) so it reads `targetSeconds` after the epoch. */
async function moveGatewayClockTo(world: ConformanceWorld, targetSeconds: number): Promise<void> {
  await world.moveGatewayClock(targetSeconds - Date.now() / 1000);
  // Set once more after moveGatewayClock's own check, so that the check's time is not added.
  await (await world.gatewayClock()).setOffsetSeconds(targetSeconds - Date.now() / 1000);
}

When(
  /^the gateway's clock moves to (\d+) (minutes?|seconds?) (before|past) (\d+) hours after the login$/,
  async function (this: ConformanceWorld, amount: string, unit: string, side: string, hours: string) {
    const shift = Number(amount) * (unit.startsWith('minute') ? 60 : 1);
    const lifetime = Number(hours) * 3600;
    if (side === 'before') {
      // The key cannot have been issued before the browser set off to sign in (the gateway knows the
      // person only at its IdP callback), and a key's issue time may be cut to the whole second: its
      // expiry is no earlier than that second plus the lifetime.
      const began = this.state.signInBeganMs ?? this.keyReceivedAtMs;
      await moveGatewayClockTo(this, Math.floor(began / 1000) + lifetime - shift);
    } else {
      // The key was issued at or before the harness received it: this is past its expiry.
      await moveGatewayClockTo(this, this.keyReceivedAtMs / 1000 + lifetime + shift);
    }
  },
);

Given(
  /^(LITELLM_CLI_JWT_EXPIRATION_HOURS|CLI_JWT_EXPIRATION_HOURS) is (not set|empty)$/,
  function (this: ConformanceWorld, name: string, state: string) {
    if (state === 'empty') this.gatewayOverrides[name] = '';
    else this.gatewayUnset.add(name);
  },
);

/**
 * The models asked for with the key in Authorization headers of other forms (docs/contract.md section
 * 2.6): `{key}` stands for the key. A row is checked on both routes; the failure lists every row that
 * got another answer than the one expected.
 */
async function modelsWithAuthorization(world: ConformanceWorld, header: string, path: string) {
  const value = header.replaceAll('{key}', heldKey(world));
  return (await world.http()).send('GET', path, { headers: { authorization: value } });
}

Then(
  'the models are listed with each of these Authorization headers:',
  async function (this: ConformanceWorld, table: DataTable) {
    const wrong: string[] = [];
    for (const [header] of table.rows()) {
      for (const path of ['/models', '/v1/models']) {
        const answer = await modelsWithAuthorization(this, header ?? '', path);
        if (answer.status !== 200) wrong.push(`"${header}" at ${path}: ${answer.status}`);
      }
    }
    assert.deepEqual(wrong, [], `these headers did not open the API: ${wrong.join('; ')}`);
  },
);

Then(
  'each of these Authorization headers is refused with 401 and an error body:',
  async function (this: ConformanceWorld, table: DataTable) {
    const wrong: string[] = [];
    for (const [header] of table.rows()) {
      for (const path of ['/models', '/v1/models']) {
        const answer = await modelsWithAuthorization(this, header ?? '', path);
        try {
          assert.equal(answer.status, 401, `answered ${answer.status}`);
          expectApiError(answer, path);
        } catch (error) {
          wrong.push(`"${header}" at ${path}: ${(error as Error).message.split('\n')[0]}`);
        }
      }
    }
    assert.deepEqual(wrong, [], `these headers were not refused with 401 and an error body: ${wrong.join('; ')}`);
  },
);

When(
  /^GET \/user\/info for "([^"]+)" is asked with the master key (in the other case|with one character more|without its last character|with its last character changed)$/,
  async function (this: ConformanceWorld, userId: string, how: string) {
    const masterKey = (await this.gateway()).env.LITELLM_MASTER_KEY ?? this.parameters.masterKey;
    this.lastAnswer = await (await this.http()).userInfo(userId, nearMiss(masterKey, how as NearMiss));
  },
);

Then('the key is refused as expired at {string}', async function (this: ConformanceWorld, path: string) {
  const answer = await (await this.http()).models(heldKey(this), path);
  this.lastAnswer = answer;
  expectExpiredKeyRefusal(answer, path);
});

Then(
  /^the ready answer's expires_in, when the gateway sends one, is (\d+) hours$/,
  function (this: ConformanceWorld, hours: string) {
    const announced = loginAnswer(this).expiresInSeconds;
    if (announced === undefined) return; // a reference-choice extension: LiteLLM does not send it
    const expected = Number(hours) * 3600;
    assert.equal(
      announced,
      expected,
      `the ready answer says expires_in ${announced}, expected ${expected} (${hours} h)`,
    );
  },
);

Given(
  'the gateway signs CLI keys with LITELLM_MASTER_KEY {string} and no LITELLM_SALT_KEY',
  function (this: ConformanceWorld, masterKey: string) {
    this.gatewayOverrides.LITELLM_MASTER_KEY = masterKey;
    this.gatewayUnset.add('LITELLM_SALT_KEY');
  },
);

Given('the gateway signs CLI keys with LITELLM_SALT_KEY {string}', function (this: ConformanceWorld, salt: string) {
  this.gatewayOverrides.LITELLM_SALT_KEY = salt;
});

/**
 * A second gateway, started with this scenario's configuration except one secret, is asked for the
 * models with the key the first one issued (docs/contract.md sections 3 and 6).
 */
When(
  /^the key is presented to a gateway of the same configuration but (LITELLM_MASTER_KEY|LITELLM_SALT_KEY) "([^"]+)"$/,
  async function (this: ConformanceWorld, name: string, value: string) {
    const key = heldKey(this);
    const first = await this.gateway();
    assert.notEqual(first.env[name], value, `the scenario's gateway already runs with that ${name}`);
    const h = await this.harness();
    const other = await h.gateways.acquire({ ...(await this.gatewayEnv()), [name]: value });
    this.cleanups.push(() => h.gateways.retire(other));
    this.lastAnswer = await (await this.http(other)).models(key);
  },
);

Then('that gateway lists the models {string}', function (this: ConformanceWorld, names: string) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  expectModelList(answer, 'the other gateway', names);
});
