/** A port is given to one server of a run only, even when the system offers it again. */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { claimFreePort } from './ports.ts';

test('a port the system offers again is not given out twice in one run', async () => {
  const runDir = await mkdtemp(join(tmpdir(), 'ports-'));
  // Two workers asking at about the same moment can be offered the same free port.
  const offered = [41001, 41001, 41001, 41002];
  const offer = async () => offered.shift() as number;
  const [first, second] = await Promise.all([claimFreePort(runDir, offer), claimFreePort(runDir, offer)]);
  assert.deepEqual([first, second].sort(), [41001, 41002]);
});

test('ports from the system are claimed as they are', async () => {
  const runDir = await mkdtemp(join(tmpdir(), 'ports-'));
  const port = await claimFreePort(runDir);
  assert.ok(port > 0 && port < 65536);
  assert.notEqual(await claimFreePort(runDir), port);
});
