/**
 * The logic faults still fit the source (each edit's text is there exactly once), and a faulty
 * gateway is a real bundle holding the edit and its firing record.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  applyEdits,
  buildFaultyGateway,
  checkSourceFaults,
  findSourceFault,
  SOURCE_FAULTS,
  type SourceFault,
  SourceFaultError,
} from './source-faults.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('every logic fault applies to the current source, each with a different change', async () => {
  await checkSourceFaults(ROOT);
  const names = SOURCE_FAULTS.map((f) => f.name);
  assert.equal(new Set(names).size, names.length, 'fault names are unique');
  for (const fault of SOURCE_FAULTS) {
    assert.ok(
      fault.edits.some((e) => e.fires !== 'none') || JSON.stringify(fault.edits).includes('__selfCheckFaultFired'),
      `${fault.name} records when it fires`,
    );
    for (const edit of fault.edits) assert.notEqual(edit.find, edit.replace, `${fault.name} changes ${edit.file}`);
  }
});

test('an edit whose text is missing or repeated stops the build, naming the fault and the file', () => {
  const fault: SourceFault = {
    name: 'example',
    rule: '-',
    section: '-',
    mechanism: '-',
    edits: [{ file: 'a.ts', find: 'x = 1;', replace: 'x = 2;', fires: 'statement' }],
  };
  assert.equal(applyEdits(fault, 'a.ts', 'let x; x = 1; y();'), 'let x; __selfCheckFaultFired(); x = 2; y();');
  assert.equal(applyEdits(fault, 'b.ts', 'x = 1;'), 'x = 1;', 'other files are untouched');
  assert.throws(
    () => applyEdits(fault, 'a.ts', 'x = 3;'),
    (e: unknown) => e instanceof SourceFaultError && /example: a\.ts .* 0 times/.test(e.message),
  );
  assert.throws(() => applyEdits(fault, 'a.ts', 'x = 1; x = 1;'), /2 times/);
});

test('the faulty gateway bundle holds the fault, recorded when it runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'source-fault-'));
  try {
    const fault = findSourceFault('wrong-expiry');
    assert.ok(fault);
    const outfile = join(dir, 'gateway.cjs');
    await buildFaultyGateway(ROOT, fault, outfile);
    const bundle = await readFile(outfile, 'utf8');
    assert.match(bundle, /__selfCheckFaultFired\(\);\s*const expiresAt = issuedAt \+ 2 \* this\.lifetimeSeconds;/);
    assert.match(bundle, /function __selfCheckFaultFired\(\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
