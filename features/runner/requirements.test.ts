import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  buildMatrix,
  CONTRACT_COPY,
  checkCoverage,
  contractFile,
  failsTheRun,
  loadCatalogue,
  newestProfile,
  profileNames,
  profileRequirementIds,
  requirementIdsOf,
  writeMatrix,
} from './requirements.ts';
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
  id: `x.feature:${name.length}`,
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
  assert.deepEqual(profileNames(catalogue), ['litellm-v3', 'litellm-v4']);
  for (const profile of profileNames(catalogue)) {
    const coverage = await checkCoverage(catalogue, join(ROOT, 'features'), profile);
    assert.deepEqual(
      coverage.uncovered.map((r) => r.id),
      [],
      profile,
    );
    assert.deepEqual(coverage.unknown, []);
  }
  // Where the generations disagree, each profile judges its own rule (docs/contract.md section 10.4).
  const v3 = profileRequirementIds(catalogue, 'litellm-v3');
  const v4 = profileRequirementIds(catalogue, 'litellm-v4');
  for (const id of ['CLISSO-CLAIMS-07', 'CLISSO-FILTER-01']) assert.ok(v3.includes(id) && !v4.includes(id), id);
  for (const id of ['CLISSO-CLAIMS-11', 'CLISSO-FILTER-08', 'CLISSO-NATIVE-01', 'CLISSO-NATIVE-16'])
    assert.ok(v4.includes(id) && !v3.includes(id), id);
  for (const id of ['CLISSO-START-01', 'CLISSO-CALLBACK-02']) assert.ok(v3.includes(id) && v4.includes(id), id);
});

test('profiles: oldest first, the newest by default; a requirement names only catalogue profiles', async () => {
  const dir = await scratchDir();
  const file = join(dir, 'requirements.yaml');
  const head = 'protocol: p\nprofiles: {old: the first, new: the second}\nsections: {s: "#s"}\nrequirements:\n';
  await writeFile(
    file,
    `${head}  - {id: CLISSO-A-01, level: MUST, section: s, text: t}\n  - {id: CLISSO-A-02, level: MUST, section: s, text: t, profiles: [old]}\n  - {id: CLISSO-A-03, level: MUST, section: s, text: t, profiles: [new]}\n`,
  );
  await writeFile(join(dir, 'a.feature'), 'Feature: a\n  @CLISSO-A-01\n  Scenario: s\n');
  const catalogue = await loadCatalogue(file);
  assert.deepEqual(profileNames(catalogue), ['old', 'new']);
  assert.equal(newestProfile(catalogue), 'new');
  assert.deepEqual(profileRequirementIds(catalogue, 'old'), ['CLISSO-A-01', 'CLISSO-A-02']);
  assert.deepEqual(profileRequirementIds(catalogue, 'new'), ['CLISSO-A-01', 'CLISSO-A-03']);
  // Coverage and the matrix look only at the profile's requirements.
  assert.deepEqual(
    (await checkCoverage(catalogue, dir, 'old')).uncovered.map((r) => r.id),
    ['CLISSO-A-02'],
  );
  assert.deepEqual(
    buildMatrix(catalogue, [scenario('s', ['@CLISSO-A-01'], 'passed')], 'new').map((r) => [
      r.requirement.id,
      r.verdict,
    ]),
    [
      ['CLISSO-A-01', 'passed'],
      ['CLISSO-A-03', 'not run'],
    ],
  );

  await writeFile(file, `${head}  - {id: CLISSO-A-01, level: MUST, section: s, text: t, profiles: [newest]}\n`);
  await assert.rejects(
    loadCatalogue(file),
    /requirement CLISSO-A-01 names profile "newest", which is not under profiles: \(old, new\)/,
  );
  await writeFile(file, 'protocol: p\nsections: {s: "#s"}\nrequirements: []\n');
  await assert.rejects(loadCatalogue(file), /profiles/);
  await writeFile(file, 'protocol: p\nprofiles: {}\nsections: {s: "#s"}\nrequirements: []\n');
  await assert.rejects(loadCatalogue(file), /must name at least one profile/);
});

test('coverage reports uncovered requirements and unknown tags', async () => {
  const dir = await scratchDir();
  await writeFile(
    join(dir, 'requirements.yaml'),
    'protocol: p.md\nprofiles: {only: the one profile}\nsections: {s: "#s"}\nrequirements:\n  - {id: CLISSO-A-01, level: MUST, section: s, text: t}\n  - {id: CLISSO-A-02, level: SHOULD, section: s, text: t}\n',
  );
  await writeFile(join(dir, 'a.feature'), 'Feature: a\n  @CLISSO-A-01 @CLISSO-Z-99\n  Scenario: s\n');
  const catalogue = await loadCatalogue(join(dir, 'requirements.yaml'));
  const coverage = await checkCoverage(catalogue, dir, 'only');
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
    'protocol: p\nprofiles: {only: the one profile}\nsections: {s: "#s"}\nrequirements:\n  - {id: CLISSO-A-01, level: MUST, section: s, text: t}\n  - {id: CLISSO-A-01, level: MUST, section: s, text: t}\n',
  );
  await assert.rejects(loadCatalogue(file), /listed twice/);
  await writeFile(
    file,
    'protocol: p\nprofiles: {only: the one profile}\nsections: {s: "#s"}\nrequirements:\n  - {id: POLL-1, level: MUST, section: s, text: t}\n',
  );
  await assert.rejects(loadCatalogue(file), /CLISSO-AREA-01/);
});

test('a failed MUST fails the run, a failed SHOULD only warns, an untagged failure fails', async () => {
  const dir = await scratchDir();
  await writeFile(
    join(dir, 'requirements.yaml'),
    'protocol: p\nprofiles: {only: the one profile}\nsections: {s: "#s"}\nrequirements:\n  - {id: CLISSO-A-01, level: MUST, section: s, text: t}\n  - {id: CLISSO-A-02, level: SHOULD, section: s, text: t}\n',
  );
  const catalogue = await loadCatalogue(join(dir, 'requirements.yaml'));
  assert.equal(failsTheRun(scenario('m', ['@CLISSO-A-01'], 'failed'), catalogue), true);
  assert.equal(failsTheRun(scenario('s', ['@CLISSO-A-02'], 'failed'), catalogue), false);
  assert.equal(failsTheRun(scenario('both', ['@CLISSO-A-01', '@CLISSO-A-02'], 'failed'), catalogue), true);
  assert.equal(failsTheRun(scenario('none', ['@smoke'], 'failed'), catalogue), true);
  assert.equal(failsTheRun(scenario('ok', ['@CLISSO-A-01'], 'passed'), catalogue), false);
  const matrix = buildMatrix(
    catalogue,
    [scenario('m', ['@CLISSO-A-01'], 'passed'), scenario('m2', ['@CLISSO-A-01'], 'failed')],
    'only',
  );
  assert.deepEqual(
    matrix.map((row) => [row.requirement.id, row.verdict]),
    [
      ['CLISSO-A-01', 'failed'],
      ['CLISSO-A-02', 'not run'],
    ],
  );
  assert.deepEqual(requirementIdsOf(['@CLISSO-A-01', '@other', '@CLISSO-A-1']), ['CLISSO-A-01']);
});

interface Heading {
  level: number;
  anchor: string;
  /** Another heading before it has the same text, so GitHub numbered this one's anchor. */
  repeated: boolean;
  /** The text under the heading, up to the next heading of the same or a higher level. */
  body: string;
}

/**
 * The headings of a Markdown file with the anchors GitHub gives them: lower-case, punctuation other
 * than `-` and `_` dropped, spaces to dashes, and `-1`, `-2`, ... after an anchor already taken.
 * Lines in fenced code blocks are not headings.
 */
function headingsOf(markdown: string): Heading[] {
  const lines = markdown.split('\n');
  const found: Array<{ level: number; anchor: string; repeated: boolean; line: number }> = [];
  const taken = new Map<string, number>();
  let fenced = false;
  lines.forEach((line, index) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const match = fenced ? null : /^(#{1,6}) (.+?)\s*#*\s*$/.exec(line);
    if (!match) return;
    const slug = (match[2] ?? '')
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, '')
      .replace(/ /g, '-');
    const times = taken.get(slug) ?? 0;
    taken.set(slug, times + 1);
    const anchor = `#${times === 0 ? slug : `${slug}-${times}`}`;
    found.push({ level: match[1]?.length ?? 0, anchor, repeated: times > 0, line: index });
  });
  return found.map((heading, i) => {
    const next = found.slice(i + 1).find((h) => h.level <= heading.level);
    return { ...heading, body: lines.slice(heading.line + 1, next?.line ?? lines.length).join('\n') };
  });
}

const CONTRACT = join(ROOT, 'docs', 'contract.md');

test('the catalogue names docs/contract.md, and every section label points at one of its headings', async () => {
  const catalogue = await loadCatalogue(join(ROOT, 'features', 'requirements.yaml'));
  assert.equal(contractFile(catalogue), CONTRACT);
  const headings = headingsOf(await readFile(CONTRACT, 'utf8'));
  assert.deepEqual(
    headings.filter((h) => h.repeated).map((h) => h.anchor),
    [],
    'two headings of docs/contract.md share an anchor, so a link can land on the wrong one',
  );
  const anchors = new Set(headings.map((h) => h.anchor));
  const broken = Object.entries(catalogue.sections).filter(([, anchor]) => !anchors.has(anchor));
  assert.deepEqual(
    broken.map(([label, anchor]) => `"${label}" -> ${anchor}`),
    [],
    'these section labels point at no heading of docs/contract.md',
  );
});

test('every requirement is written, with its ID, under the heading its section points at', async () => {
  const catalogue = await loadCatalogue(join(ROOT, 'features', 'requirements.yaml'));
  const headings = new Map(headingsOf(await readFile(CONTRACT, 'utf8')).map((h) => [h.anchor, h]));
  const missing: string[] = [];
  for (const requirement of catalogue.requirements.filter((r) => !r.retired)) {
    const label = requirement.section.replace(/ \(reference choice\)$/, '');
    const body = headings.get(catalogue.sections[label] ?? '')?.body ?? '';
    if (!body.includes(`[${requirement.id}]`)) missing.push(`${requirement.id} under "${label}"`);
    else if (label !== requirement.section && !body.includes('Reference choice')) {
      missing.push(`${requirement.id}: "${label}" marks no reference choice`);
    }
  }
  assert.deepEqual(missing, [], 'docs/contract.md does not state these requirements where the catalogue says');
});

test('the requirement report links to sections of a copy of the contract beside it', async () => {
  const catalogue = await loadCatalogue(join(ROOT, 'features', 'requirements.yaml'));
  const dir = await scratchDir();
  const rows = buildMatrix(catalogue, [scenario('s', ['@CLISSO-START-01'], 'passed')], 'litellm-v3');
  await writeMatrix(dir, catalogue, rows, { gateway: 'g', cli: 'c', profile: 'litellm-v3' });
  const copy = await readFile(join(dir, CONTRACT_COPY), 'utf8');
  assert.equal(copy, await readFile(CONTRACT, 'utf8'));
  const anchors = new Set(headingsOf(copy).map((h) => h.anchor));
  const html = await readFile(join(dir, 'requirements.html'), 'utf8');
  const md = await readFile(join(dir, 'requirements.md'), 'utf8');
  // Every report names the profile it judged.
  assert.match(md, /^Profile: litellm-v3 \(/m);
  assert.match(html, /Profile: <code>litellm-v3<\/code>/);
  const json = JSON.parse(await readFile(join(dir, 'requirements.json'), 'utf8')) as { target: { profile: string } };
  assert.equal(json.target.profile, 'litellm-v3');
  const links = [
    ...[...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1] ?? ''),
    ...[...md.matchAll(/\]\(([^)]*)\)/g)].map((m) => m[1] ?? ''),
  ];
  // One link per requirement in each report, and one to the whole contract.
  assert.equal(links.length, 2 * (rows.length + 1));
  for (const link of links) {
    const [file, anchor] = link.split('#');
    assert.equal(file, CONTRACT_COPY, `${link} does not lead to the copy of the contract`);
    if (anchor !== undefined) assert.ok(anchors.has(`#${anchor}`), `${link} names no heading of the copy`);
  }
});
