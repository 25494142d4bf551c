import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Given, Then, When } from '@cucumber/cucumber';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { apiErrorTypeOf } from '../../protocol/errors.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { logInThroughBrowser } from '../tasks/browser-login.ts';

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
    await logInThroughBrowser(this, username);
  },
);

Then(
  /^the key lists the models "([^"]*)" at "([^"]*)"$/,
  async function (this: ConformanceWorld, names: string, path: string) {
    const answer = await (await this.http()).models(heldKey(this), path);
    this.lastAnswer = answer;
    assert.equal(answer.status, 200, `${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    const ids = modelIds(answer.json);
    for (const name of names.split(',').map((n) => n.trim()))
      assert.ok(ids.includes(name), `${name} is not in ${ids.join(', ')}`);
  },
);

export function modelIds(body: unknown): string[] {
  assert.ok(typeof body === 'object' && body !== null && 'data' in body && Array.isArray(body.data), 'no "data" list');
  return body.data.map((entry: unknown) =>
    typeof entry === 'object' && entry !== null && 'id' in entry ? String(entry.id) : '(no id)',
  );
}

When(/^the models are asked for with (.+)$/, async function (this: ConformanceWorld, how: string) {
  const key = await forgedKey(heldKey(this), how);
  this.lastAnswer = await (await this.http()).models(key);
});

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

/** Move the gateway's clock (and the CLI's) so it reads `target` seconds after the epoch. */
async function moveGatewayClockTo(world: ConformanceWorld, targetSeconds: number): Promise<void> {
  const clock = await world.gatewayClock();
  await clock.setOffsetSeconds(targetSeconds - Date.now() / 1000);
}

When(
  /^the gateway's clock moves to (\d+) (minutes?|seconds?) (before|past) (\d+) hours after the login$/,
  async function (this: ConformanceWorld, amount: string, unit: string, side: string, hours: string) {
    const loginSeconds = this.keyReceivedAtMs / 1000;
    const shift = Number(amount) * (unit.startsWith('minute') ? 60 : 1) * (side === 'before' ? -1 : 1);
    // The key was issued at or before the harness received it, so "past" is past its expiry and
    // "1 minute before" is before it as long as the login took less than a minute.
    await moveGatewayClockTo(this, loginSeconds + Number(hours) * 3600 + shift);
  },
);

Then('the key is refused as expired', async function (this: ConformanceWorld) {
  const answer = await (await this.http()).models(heldKey(this));
  this.lastAnswer = answer;
  assert.equal(answer.status, 400, `an expired key got ${answer.status}: ${answer.text.slice(0, 300)}`);
  assert.equal(apiErrorTypeOf(answer.json), 'expired_key');
});
