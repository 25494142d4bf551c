/** A scenario's clean-up goes on past a piece that hangs, and waits for every piece that ends. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withinDeadline } from './clean-up-deadline.ts';

test('a piece that ends, or fails, in time counts as done; one that hangs is left behind at the deadline', async () => {
  assert.equal(await withinDeadline('quick', () => Promise.resolve()), true);
  assert.equal(await withinDeadline('failing', () => Promise.reject(new Error('gone'))), true);
  const began = performance.now();
  assert.equal(await withinDeadline('hanging', () => new Promise(() => {}), 100), false);
  assert.ok(performance.now() - began >= 95, 'not before the deadline');
});
