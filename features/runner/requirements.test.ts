import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildMatrix, checkCoverage, failsTheRun, loadCatalogue, requirementIdsOf } from './requirements.ts';
import type { ScenarioResult } from './run-suite.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Scratch folders for catalogues written by the tests, removed when the file's tests end. */
const scratch: string[] = [];
after(() => Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true }))));
async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'catalogue-'));
  scratch.push(dir);
  return dir;
}

const scenario = (name: string, tags: string[], verdict: ScenarioResult['verdict']): ScenarioResult => ({
  name,
  uri: 'x.feature',
  tags,
  verdict,
  message: undefined,
  durationMs: 1,
});

test('the catalogue loads and every one of its requirements has a scenario in features/', async () => {
  const catalogue = await loadCatalogue(join(ROOT, 'features', 'requirements.yaml'));
  assert.ok(catalogue.requirements.length >= 50);
  const coverage = await checkCoverage(catalogue, join(ROOT, 'features'));
  assert.deepEqual(
    coverage.uncovered.map((r) => r.id),
    [],
  );
  assert.deepEqual(coverage.unknown, []);
});

test('coverage reports uncovered requirements and unknown tags', async () => {
  const dir = await scratchDir();
  await writeFile(
    join(dir, 'requirements.yaml'),
    'protocol: p.md\nsections: {s: "#s"}\nrequirements:\n  - {id: CLISSO-A-01, level: MUST, section: s, text: t}\n  - {id: CLISSO-A-02, level: SHOULD, section: s, text: t}\n',
  );
  await writeFile(join(dir, 'a.feature'), 'Feature: a\n  @CLISSO-A-01 @CLISSO-Z-99\n  Scenario: s\n');
  const catalogue = await loadCatalogue(join(dir, 'requirements.yaml'));
  const coverage = await checkCoverage(catalogue, dir);
  assert.deepEqual(
    coverage.uncovered.map((r) => r.id),
    ['CLISSO-A-02'],
  );
  assert.deepEqual(
    coverage.unknown.map((u) => u.id),
    ['CLISSO-Z-99'],
  );
});

test('a catalogue with a duplicate or malformed id is refused', async () => {
  const dir = await scratchDir();
  const file = join(dir, 'requirements.yaml');
  await writeFile(
    file,
    'protocol: p\nsections: {s: "#s"}\nrequirements:\n  - {id: CLISSO-A-01, level: MUST, section: s, text: t}\n  - {id: CLISSO-A-01, level: MUST, section: s, text: t}\n',
  );
  await assert.rejects(loadCatalogue(file), /listed twice/);
  await writeFile(
    file,
    'protocol: p\nsections: {s: "#s"}\nrequirements:\n  - {id: POLL-1, level: MUST, section: s, text: t}\n',
  );
  await assert.rejects(loadCatalogue(file), /CLISSO-AREA-01/);
});

test('a failed MUST fails the run, a failed SHOULD only warns, an untagged failure fails', async () => {
  const dir = await scratchDir();
  await writeFile(
    join(dir, 'requirements.yaml'),
    'protocol: p\nsections: {s: "#s"}\nrequirements:\n  - {id: CLISSO-A-01, level: MUST, section: s, text: t}\n  - {id: CLISSO-A-02, level: SHOULD, section: s, text: t}\n',
  );
  const catalogue = await loadCatalogue(join(dir, 'requirements.yaml'));
  assert.equal(failsTheRun(scenario('m', ['@CLISSO-A-01'], 'failed'), catalogue), true);
  assert.equal(failsTheRun(scenario('s', ['@CLISSO-A-02'], 'failed'), catalogue), false);
  assert.equal(failsTheRun(scenario('both', ['@CLISSO-A-01', '@CLISSO-A-02'], 'failed'), catalogue), true);
  assert.equal(failsTheRun(scenario('none', ['@smoke'], 'failed'), catalogue), true);
  assert.equal(failsTheRun(scenario('ok', ['@CLISSO-A-01'], 'passed'), catalogue), false);
  const matrix = buildMatrix(catalogue, [
    scenario('m', ['@CLISSO-A-01'], 'passed'),
    scenario('m2', ['@CLISSO-A-01'], 'failed'),
  ]);
  assert.deepEqual(
    matrix.map((row) => [row.requirement.id, row.verdict]),
    [
      ['CLISSO-A-01', 'failed'],
      ['CLISSO-A-02', 'not run'],
    ],
  );
  assert.deepEqual(requirementIdsOf(['@CLISSO-A-01', '@other', '@CLISSO-A-1']), ['CLISSO-A-01']);
});

/** GitHub's heading anchors: lower-case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return `#${heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-')}`;
}

test('every section link points at a heading of protocol.md', async (t) => {
  const catalogue = await loadCatalogue(join(ROOT, 'features', 'requirements.yaml'));
  const protocolFile = join(catalogue.dir, catalogue.protocol);
  const text = await readFile(protocolFile, 'utf8').catch(() => undefined);
  if (text === undefined) {
    t.skip(`${protocolFile} is not on this machine`);
    return;
  }
  const anchors = new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')));
  for (const [label, anchor] of Object.entries(catalogue.sections)) {
    assert.ok(anchors.has(anchor), `section "${label}" links to ${anchor}, which is no heading of protocol.md`);
  }
});
