/**
 * A scenario's gateway settings are fixed once its gateway has started: a later change throws an
 * error naming the setting, instead of being silently ignored by a gateway that read its settings
 * at start. Runs a real (stand-in) gateway through the harness's pool().
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { standInPool } from '../drivers/test-support/stand-in-pool.ts';
import { GatewaySettings, GatewaySettingTooLate } from './gateway-settings.ts';

const pool = standInPool('String(process.env.SETTING)');

const DEFAULTS = { SETTING: 'default', REMOVED: 'yes' };

async function startWith(settings: GatewaySettings): Promise<string> {
  pool().beginScenario();
  const gateway = await pool().acquire(settings.applyTo(DEFAULTS));
  settings.markStarted(`at ${gateway.url}`);
  return (await fetch(gateway.url)).text();
}

test('settings changed before the gateway starts are the ones it starts with', async () => {
  const settings = new GatewaySettings();
  settings.overrides.SETTING = 'changed';
  settings.unset.add('REMOVED');
  assert.deepEqual(settings.applyTo(DEFAULTS), { SETTING: 'changed' });
  assert.equal(await startWith(settings), 'changed');
});

test('a setting changed after the gateway started is refused, naming the setting and the started gateway', async () => {
  const settings = new GatewaySettings();
  settings.overrides.SETTING = 'first';
  assert.equal(await startWith(settings), 'first');
  const refused = (error: unknown, name: string) => {
    assert.ok(error instanceof GatewaySettingTooLate, String(error));
    assert.equal(error.setting, name);
    assert.match(error.message, new RegExp(`gateway setting ${name} cannot change`));
    assert.match(error.message, /gateway has already started \(at http:\/\/127\.0\.0\.1:\d+\)/);
    return true;
  };
  assert.throws(
    () => {
      settings.overrides.SETTING = 'second';
    },
    (e) => refused(e, 'SETTING'),
  );
  assert.throws(
    () => {
      settings.overrides.OTHER = 'new';
    },
    (e) => refused(e, 'OTHER'),
  );
  assert.throws(
    () => {
      delete settings.overrides.SETTING;
    },
    (e) => refused(e, 'SETTING'),
  );
  assert.throws(
    () => settings.unset.add('REMOVED'),
    (e) => refused(e, 'REMOVED'),
  );
  assert.throws(
    () => settings.unset.delete('REMOVED'),
    (e) => refused(e, 'REMOVED'),
  );
  // Nothing changed: the settings are still those the gateway started with.
  assert.deepEqual(settings.applyTo(DEFAULTS), { SETTING: 'first', REMOVED: 'yes' });
});
