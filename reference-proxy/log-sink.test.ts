/** Unit tests: the gateway process's log lines, written once per turn of the event loop (log-sink.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coalescingSink } from './log-sink.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('lines logged in one turn reach the stream in one write at its end, in order', async () => {
  const writes: string[] = [];
  const sink = coalescingSink({ write: (chunk: string) => writes.push(chunk) });
  sink.write('{"n":1}\n');
  sink.write('{"n":2}\n');
  sink.write('{"n":3}\n');
  await nextTurn();
  assert.deepEqual(writes, ['{"n":1}\n{"n":2}\n{"n":3}\n']);
  sink.write('{"n":4}\n');
  await nextTurn();
  assert.deepEqual(writes, ['{"n":1}\n{"n":2}\n{"n":3}\n', '{"n":4}\n']);
  await nextTurn();
  assert.equal(writes.length, 2, 'nothing is written when nothing is pending');
});

test('flush() writes what is pending at once, and only once', async () => {
  const writes: string[] = [];
  const sink = coalescingSink({ write: (chunk: string) => writes.push(chunk) });
  sink.write('a\n');
  sink.flush();
  assert.deepEqual(writes, ['a\n']);
  await nextTurn();
  assert.deepEqual(writes, ['a\n']);
});

test('a turn that logs a lot writes as it goes: what is pending stays under 64 KiB', () => {
  const writes: string[] = [];
  const sink = coalescingSink({ write: (chunk: string) => writes.push(chunk) });
  const line = `${'x'.repeat(1023)}\n`;
  for (let i = 0; i < 200; i++) sink.write(line);
  assert.ok(writes.length >= 3, `${writes.length} writes`);
  assert.ok(writes.every((w) => w.length <= 64 * 1024 + line.length));
  sink.flush();
  assert.equal(writes.join(''), line.repeat(200));
});
