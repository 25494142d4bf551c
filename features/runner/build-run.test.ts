/**
 * Bundles kept between runs (cachedBuild): reused while every file the build read and every file
 * copied beside it is unchanged, built again into a new folder when one changes.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import { cachedBuild } from './build-run.ts';

test('a build is reused until a file it read or copied changes, then built again into a new folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'build-cache-'));
  const parent = join(root, '.tmp', 'build');
  await mkdir(parent, { recursive: true });
  await writeFile(join(root, 'main.ts'), "import { answer } from './answer.ts';\nconsole.log(answer);\n");
  await writeFile(join(root, 'answer.ts'), 'export const answer = 41;\n');
  await writeFile(join(root, 'beside.sh'), 'echo one\n');
  let builds = 0;
  const bundle = () =>
    cachedBuild(root, parent, { name: 'probe', entries: ['main.ts'], copied: ['beside.sh'] }, async (dir) => {
      builds += 1;
      const { metafile } = await build({
        entryPoints: [join(root, 'main.ts')],
        bundle: true,
        platform: 'node',
        outfile: join(dir, 'main.cjs'),
        absWorkingDir: root,
        metafile: true,
        logLevel: 'silent',
      });
      return metafile;
    });

  const first = await bundle();
  assert.equal(await bundle(), first, 'nothing changed: the same folder');
  assert.equal(builds, 1);

  // An imported file changes (its size too): built again, into a new folder; the old one is left
  // alone for runs that may still use it.
  await writeFile(join(root, 'answer.ts'), 'export const answer = "forty-two";\n');
  const second = await bundle();
  assert.notEqual(second, first);
  assert.equal(builds, 2);
  assert.match(await readFile(join(second, 'main.cjs'), 'utf8'), /forty-two/);
  assert.match(await readFile(join(first, 'main.cjs'), 'utf8'), /41/);

  // A copied file changes in its time alone: built again.
  const later = new Date(Date.now() + 5000);
  await utimes(join(root, 'beside.sh'), later, later);
  const third = await bundle();
  assert.notEqual(third, second);
  assert.equal(builds, 3);
  assert.equal(await bundle(), third);
  assert.equal(builds, 3);
});
