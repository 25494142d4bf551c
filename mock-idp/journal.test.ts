/**
 * The journal keeps the newest 5000 entries, oldest first, however many were recorded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../common/clock.ts';
import { Journal } from './journal.ts';

const KEPT = 5000;

function recordRequests(journal: Journal, count: number): void {
  for (let i = 0; i < count; i++) {
    journal.record({ type: 'request', method: 'GET', path: `/r/${i}`, status: 200, durationMs: 0 });
  }
}

test('past 5000 entries the oldest leave; what is kept is the newest, oldest first', () => {
  const journal = new Journal(new ManualClock());
  recordRequests(journal, KEPT + 1234);
  const seqs = journal.query().map((entry) => entry.seq);
  assert.equal(seqs.length, KEPT);
  assert.equal(seqs[0], 1235);
  assert.equal(seqs.at(-1), KEPT + 1234);
  assert.ok(
    seqs.every((seq, i) => i === 0 || seq === (seqs[i - 1] ?? 0) + 1),
    'in order, none missing',
  );
  assert.deepEqual(
    journal.query({ limit: 3 }).map((entry) => entry.seq),
    [KEPT + 1232, KEPT + 1233, KEPT + 1234],
  );
  assert.deepEqual(
    journal.query({ since: KEPT + 1232 }).map((entry) => entry.seq),
    [KEPT + 1233, KEPT + 1234],
  );
});

test('clear keeps the numbering, reset starts it again, and recording after either works', () => {
  const journal = new Journal(new ManualClock());
  recordRequests(journal, KEPT + 10);
  journal.clear();
  assert.deepEqual(journal.query(), []);
  recordRequests(journal, 2);
  assert.deepEqual(
    journal.query().map((entry) => entry.seq),
    [KEPT + 11, KEPT + 12],
  );
  journal.reset();
  recordRequests(journal, 1);
  assert.deepEqual(
    journal.query().map((entry) => entry.seq),
    [1],
  );
});
