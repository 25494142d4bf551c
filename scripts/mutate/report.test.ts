import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wilsonInterval } from './report.ts';

test("Wilson's interval: the textbook values, and the edges", () => {
  const [low, high] = wilsonInterval(50, 100);
  assert.equal(low.toFixed(3), '0.404');
  assert.equal(high.toFixed(3), '0.596');
  const [allLow, allHigh] = wilsonInterval(20, 20);
  assert.equal(allHigh, 1);
  assert.equal(allLow.toFixed(3), '0.839');
  assert.deepEqual(wilsonInterval(0, 0), [0, 1]);
});
