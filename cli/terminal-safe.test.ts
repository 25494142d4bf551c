/**
 * CLISSO-CLI-23: what a hostile gateway sends cannot drive the person's terminal.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { terminalSafe, terminalSafeStream } from './terminal-safe.ts';

const HOSTILE = [
  '\u001b]0;new window title\u0007',
  '\u001b]8;;https://evil.example/\u001b\\link\u001b]8;;\u001b\\',
  '\u001b[2J\u001b[H',
  '\u009b2J',
  '\u001bP+q\u001b\\',
  '\u0007\u0000\u007f',
];

test('escape sequences and controls from the network are dropped, the text around them kept', () => {
  for (const sequence of HOSTILE) {
    for (const terminal of [true, false]) {
      const shown = terminalSafe(`user${sequence}-id\n`, terminal);
      const controls = [...shown].filter((c) => c !== '\n' && (c < ' ' || (c >= '\u007f' && c <= '\u009f')));
      assert.deepEqual(controls, [], JSON.stringify(sequence));
      assert.ok(shown.startsWith('user') && shown.endsWith('-id\n'), JSON.stringify(shown));
    }
  }
  assert.equal(terminalSafe('link', false), 'link');
});

test('on a terminal our own progress line keeps its colours and cursor moves; a pipe gets none', () => {
  const own = '\u001b[?25l\u001b[2K\u001b[1G\u001b[32m✔\u001b[39m done\u001b[1A';
  assert.equal(terminalSafe(own, true), own);
  assert.equal(terminalSafe(own, false), '✔ done');
});

test("the stream wrapper filters every chunk and keeps the target's isTTY", () => {
  let written = '';
  const target = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    }),
    { isTTY: true },
  );
  const safe = terminalSafeStream(target, false);
  safe.write(`team ${HOSTILE[0]}Alpha\n`);
  assert.equal(written, 'team Alpha\n');
  assert.equal((safe as { isTTY?: boolean }).isTTY, true);
});
