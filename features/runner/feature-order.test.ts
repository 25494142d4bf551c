/** A whole run's features go to Cucumber longest first by the previous run; new ones first of all. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { featuresLongestFirst } from './feature-order.ts';

test('features are ordered by their time in the previous run, longest first; one without a time leads', async () => {
  const root = await mkdtemp(join(tmpdir(), 'feature-order-'));
  await mkdir(join(root, 'features', 'cli'), { recursive: true });
  for (const file of ['a.feature', 'b.feature', 'new.feature', 'cli/c.feature', 'notes.md']) {
    await writeFile(join(root, 'features', file), '');
  }
  const previous = new Map([
    ['features/a.feature:3', 1],
    ['features/a.feature:9', 1.5],
    ['features/b.feature:4', 4],
    ['features/cli/c.feature:7', 3],
    ['features/gone.feature:2', 50],
  ]);
  const ordered = await featuresLongestFirst(root, join(root, 'features'), previous);
  assert.deepEqual(
    ordered.map((path) => path.slice(root.length + 1)),
    ['features/new.feature', 'features/b.feature', 'features/cli/c.feature', 'features/a.feature'],
  );
  const firstRun = await featuresLongestFirst(root, join(root, 'features'), new Map());
  assert.deepEqual(
    firstRun.map((path) => path.slice(root.length + 1)),
    ['features/a.feature', 'features/b.feature', 'features/cli/c.feature', 'features/new.feature'],
    'without a previous run, the files in their own order',
  );
});
