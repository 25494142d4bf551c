/**
 * The repository stands on its own: no tracked file points at documents kept outside it, such as
 * the folder of shared documents the contract once lived in. A clone has nothing beside it, so such
 * a link works only on the machine it was written on; the contract is docs/contract.md.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Built from pieces, so that this file does not contain what it looks for.
const FOLDER = ['sha', 'red'].join('');
const OUTSIDE = new RegExp(`\\.\\./${FOLDER}\\b|\\b${FOLDER}/docs\\b`);

function trackedFiles(): string[] | undefined {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\0')
      .filter((path) => path !== '');
  } catch {
    return undefined;
  }
}

test('no tracked file refers to documents outside the repository', async (t) => {
  const files = trackedFiles();
  if (files === undefined) {
    t.skip('not a git checkout: there is no list of tracked files');
    return;
  }
  assert.ok(files.length > 0, 'git lists no tracked file');
  const found: string[] = [];
  for (const file of files) {
    const bytes = await readFile(join(ROOT, file)).catch(() => undefined);
    // A file deleted in the working tree but not yet in the index, or a binary one, has no lines.
    if (bytes === undefined || bytes.includes(0)) continue;
    bytes
      .toString('utf8')
      .split('\n')
      .forEach((line, index) => {
        if (OUTSIDE.test(line)) found.push(`${file}:${index + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(
    found,
    [],
    `these lines point outside the repository; link docs/contract.md instead:\n${found.join('\n')}`,
  );
});

test('the check recognises both spellings of the outside folder', () => {
  assert.ok(OUTSIDE.test(`see ../${FOLDER}/docs/protocol.md`));
  assert.ok(OUTSIDE.test(`[protocol.md](../../${FOLDER}/docs/protocol.md)`));
  assert.ok(OUTSIDE.test(`(${FOLDER}/docs, section 2)`));
  assert.ok(!OUTSIDE.test('a shared store, the docs folder, docs/contract.md'));
});
