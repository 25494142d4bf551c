import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, EnvReader, parseDurationSeconds } from './config.ts';

test('every problem is reported together, naming variable, rule and value', () => {
  const env = new EnvReader({ A_BOOL: '1', HOURS: 'abc', SECRET: 'hunter2', URL: 'not a url' });
  env.bool('A_BOOL', false);
  env.wholeNumber('HOURS', 24);
  env.url('URL');
  env.required('MISSING');
  env.url('SECRET', { secret: true });
  assert.throws(
    () => env.finish(),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(
        error.problems.map((p) => p.variable),
        ['A_BOOL', 'HOURS', 'URL', 'MISSING', 'SECRET'],
      );
      assert.ok(error.message.includes('"abc"'));
      assert.ok(!error.message.includes('hunter2'), 'a secret value is never echoed');
      return true;
    },
  );
});

test('booleans accept true/false in any case; aliases are read after the main name', () => {
  const env = new EnvReader({ X: 'TRUE', OLD_NAME: '12' });
  assert.equal(env.bool('X', false), true);
  assert.equal(env.wholeNumber('NEW_NAME', 24, { aliases: ['OLD_NAME'] }), 12);
  env.finish();
});

test('durations', () => {
  assert.equal(parseDurationSeconds('24h'), 86400);
  assert.equal(parseDurationSeconds('30m'), 1800);
  assert.equal(parseDurationSeconds('7d'), 604800);
  assert.equal(parseDurationSeconds('90'), 90);
  assert.equal(parseDurationSeconds('0h'), undefined);
  assert.equal(parseDurationSeconds('soon'), undefined);
});
