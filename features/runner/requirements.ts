/**
 * The requirement catalogue (features/requirements.yaml) and what a run says about it:
 * coverage (every requirement has a scenario, every tag names a requirement) and the requirement
 * matrix (requirement -> scenarios -> passed / failed / skipped, for the target that ran).
 */
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import escapeHtml from 'escape-html';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ScenarioResult, ScenarioVerdict } from './run-suite.ts';

export const REQUIREMENT_TAG = /^@(CLISSO-[A-Z]+-\d{2})$/;

const PROFILE_NAME = /^[a-z0-9][a-z0-9.-]*$/;

const catalogueSchema = z.object({
  protocol: z.string(),
  /** Contract profiles, oldest first, each with a one-line description (docs/contract.md, "About this contract"). */
  profiles: z
    .record(z.string().regex(PROFILE_NAME, 'must be a lower-case name like litellm-v4'), z.string().min(1))
    .refine((profiles) => Object.keys(profiles).length > 0, 'must name at least one profile'),
  sections: z.record(z.string(), z.string().regex(/^#[a-z0-9_-]+$/, 'must be a heading anchor like #post-ssoclistart')),
  requirements: z.array(
    z.object({
      id: z.string().regex(/^CLISSO-[A-Z]+-\d{2}$/, 'must look like CLISSO-AREA-01'),
      level: z.enum(['MUST', 'SHOULD']),
      section: z.string().min(1),
      text: z.string().min(1),
      retired: z.boolean().optional(),
      /** The profiles that judge this requirement; absent = every profile. */
      profiles: z.array(z.string()).min(1, 'must name at least one profile when given').optional(),
    }),
  ),
});

export type Requirement = z.infer<typeof catalogueSchema>['requirements'][number];

export interface Catalogue {
  /** The contract (docs/contract.md), relative to the catalogue file's folder. */
  protocol: string;
  /** The folder of the catalogue file. */
  dir: string;
  /** Profile name -> description, oldest first. */
  profiles: Record<string, string>;
  sections: Record<string, string>;
  requirements: Requirement[];
  byId: Map<string, Requirement>;
}

const REFERENCE_CHOICE = / \(reference choice\)$/;

/**
 * The name of the contract's copy that writeMatrix puts beside the reports. The reports link to the
 * copy, not to the repository's file, so their links still work once the reports folder is
 * published or copied somewhere else.
 */
export const CONTRACT_COPY = 'contract.md';

/** The contract file a catalogue names. */
export function contractFile(catalogue: Catalogue): string {
  return join(catalogue.dir, catalogue.protocol);
}

/** The link from a report to a requirement's section, in the contract's copy beside the report. */
export function sectionLink(catalogue: Catalogue, requirement: Requirement): string {
  return `${CONTRACT_COPY}${catalogue.sections[requirement.section.replace(REFERENCE_CHOICE, '')] ?? ''}`;
}

export async function loadCatalogue(file: string): Promise<Catalogue> {
  const parsed = catalogueSchema.safeParse(parseYaml(await readFile(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`);
  }
  const byId = new Map<string, Requirement>();
  for (const r of parsed.data.requirements) {
    if (byId.has(r.id)) throw new Error(`${file}: requirement ${r.id} is listed twice`);
    if (!Object.hasOwn(parsed.data.sections, r.section.replace(REFERENCE_CHOICE, ''))) {
      throw new Error(`${file}: requirement ${r.id} names section "${r.section}", which is not under sections:`);
    }
    const unknownProfile = r.profiles?.find((p) => !Object.hasOwn(parsed.data.profiles, p));
    if (unknownProfile !== undefined) {
      throw new Error(
        `${file}: requirement ${r.id} names profile "${unknownProfile}", which is not under profiles: (${Object.keys(parsed.data.profiles).join(', ')})`,
      );
    }
    byId.set(r.id, r);
  }
  return { ...parsed.data, dir: dirname(file), byId };
}

/** The catalogue's profiles, oldest first. */
export function profileNames(catalogue: Pick<Catalogue, 'profiles'>): string[] {
  return Object.keys(catalogue.profiles);
}

/** The newest profile: the one a run judges when none is named. */
export function newestProfile(catalogue: Pick<Catalogue, 'profiles'>): string {
  return profileNames(catalogue).at(-1) as string;
}

/** Whether `profile` judges `requirement` (a requirement without `profiles` belongs to every one). */
export function belongsToProfile(requirement: Requirement, profile: string): boolean {
  return requirement.profiles === undefined || requirement.profiles.includes(profile);
}

/** The IDs of the requirements `profile` judges (retired ones excluded). */
export function profileRequirementIds(catalogue: Catalogue, profile: string): string[] {
  return catalogue.requirements.filter((r) => !r.retired && belongsToProfile(r, profile)).map((r) => r.id);
}

export function requirementIdsOf(tags: readonly string[]): string[] {
  return tags.flatMap((t) => REQUIREMENT_TAG.exec(t)?.slice(1, 2) ?? []);
}

export interface Coverage {
  uncovered: Requirement[];
  unknown: Array<{ id: string; file: string }>;
}

/**
 * Reads every .feature file under `dir` for requirement tags (Feature tags count for every scenario).
 * Only `profile`'s requirements need a scenario; a tag naming an ID the catalogue lacks is unknown in any profile.
 */
export async function checkCoverage(catalogue: Catalogue, dir: string, profile: string): Promise<Coverage> {
  const seen = new Set<string>();
  const unknown: Coverage['unknown'] = [];
  for (const file of await featureFiles(dir)) {
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(/@(CLISSO-[A-Z]+-\d{2})\b/g)) {
      const id = match[1] as string;
      if (!catalogue.byId.has(id)) unknown.push({ id, file });
      seen.add(id);
    }
  }
  const uncovered = catalogue.requirements.filter((r) => !r.retired && belongsToProfile(r, profile) && !seen.has(r.id));
  return { uncovered, unknown };
}

async function featureFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await featureFiles(path)));
    else if (entry.name.endsWith('.feature')) out.push(path);
  }
  return out;
}

export interface MatrixRow {
  requirement: Requirement;
  scenarios: Array<{ id: string; name: string; verdict: ScenarioVerdict; message: string | undefined }>;
  verdict: ScenarioVerdict | 'not run';
}

/** One row per requirement of `profile`, with the scenarios that checked it. */
export function buildMatrix(catalogue: Catalogue, scenarios: readonly ScenarioResult[], profile: string): MatrixRow[] {
  return catalogue.requirements
    .filter((r) => !r.retired && belongsToProfile(r, profile))
    .map((requirement) => {
      const mine = scenarios.filter((s) => requirementIdsOf(s.tags).includes(requirement.id));
      const verdict: MatrixRow['verdict'] =
        mine.length === 0
          ? 'not run'
          : mine.some((s) => s.verdict === 'failed')
            ? 'failed'
            : mine.some((s) => s.verdict === 'passed')
              ? 'passed'
              : 'skipped';
      return {
        requirement,
        scenarios: mine.map((s) => ({ id: s.id, name: s.name, verdict: s.verdict, message: s.message })),
        verdict,
      };
    });
}

/** A failed scenario fails the run unless every requirement it checks is a SHOULD. */
export function failsTheRun(scenario: ScenarioResult, catalogue: Catalogue): boolean {
  if (scenario.verdict !== 'failed') return false;
  const levels = requirementIdsOf(scenario.tags).map((id) => catalogue.byId.get(id)?.level);
  return levels.length === 0 || levels.some((level) => level !== 'SHOULD');
}

export async function writeMatrix(
  dir: string,
  catalogue: Catalogue,
  rows: readonly MatrixRow[],
  target: { gateway: string; cli: string; profile: string },
  /** What part of the suite the rows stand for, when not one whole run (a shard, merged shards). */
  scope?: string,
): Promise<void> {
  await copyFile(contractFile(catalogue), join(dir, CONTRACT_COPY));
  const link = (r: Requirement) => sectionLink(catalogue, r);
  const totals = { passed: 0, failed: 0, skipped: 0, 'not run': 0 };
  for (const r of rows) totals[r.verdict] += 1;
  const summary = `${rows.length} requirements: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped, ${totals['not run']} not run`;
  await writeFile(
    join(dir, 'requirements.json'),
    `${JSON.stringify({ target, ...(scope ? { scope } : {}), requirements: rows }, null, 2)}\n`,
  );
  const md = [
    `# Requirement matrix`,
    '',
    `Gateway: ${target.gateway}  `,
    `CLI: ${target.cli}  `,
    `Profile: ${target.profile} (${catalogue.profiles[target.profile] ?? 'not in the catalogue'})`,
    ...(scope ? ['', scope] : []),
    '',
    summary,
    '',
    `Each requirement links to its section of [${CONTRACT_COPY}](${CONTRACT_COPY}), the contract the run judged against.`,
    '',
    '| requirement | level | verdict | scenarios |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| [${r.requirement.id}](${link(r.requirement)}) | ${r.requirement.level} | ${r.verdict} | ${r.scenarios.map((s) => `${s.name} (${s.verdict})`).join('; ') || '-'} |`,
    ),
  ];
  await writeFile(join(dir, 'requirements.md'), `${md.join('\n')}\n`);
  const colour: Record<MatrixRow['verdict'], string> = {
    passed: '#1a7f37',
    failed: '#cf222e',
    skipped: '#9a6700',
    'not run': '#57606a',
  };
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CLI SSO requirement matrix</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #d0d7de;padding:.4rem;vertical-align:top;text-align:left}th{background:#f6f8fa}
.v{font-weight:600}</style></head><body>
<h1>CLI SSO requirement matrix</h1>
<p>Gateway: <code>${escapeHtml(target.gateway)}</code><br>CLI: <code>${escapeHtml(target.cli)}</code><br>Profile: <code>${escapeHtml(target.profile)}</code> (${escapeHtml(catalogue.profiles[target.profile] ?? 'not in the catalogue')})</p>${scope ? `\n<p>${escapeHtml(scope)}</p>` : ''}
<p><strong>${escapeHtml(summary)}</strong>. A failed MUST fails the run; a failed SHOULD warns.
Each section links into <a href="${CONTRACT_COPY}">${CONTRACT_COPY}</a>, the contract the run judged against.</p>
<table><thead><tr><th>Requirement</th><th>Level</th><th>Section</th><th>Text</th><th>Verdict</th><th>Scenarios</th></tr></thead><tbody>
${rows
  .map(
    (
      r,
    ) => `<tr><td>${r.requirement.id}</td><td>${r.requirement.level}</td><td><a href="${escapeHtml(link(r.requirement))}">${escapeHtml(r.requirement.section)}</a></td>
<td>${escapeHtml(r.requirement.text)}</td><td class="v" style="color:${colour[r.verdict]}">${r.verdict}</td>
<td>${r.scenarios.map((s) => `${escapeHtml(s.name)} <span style="color:${colour[s.verdict]}">(${s.verdict})</span>`).join('<br>') || '&ndash;'}</td></tr>`,
  )
  .join('\n')}
</tbody></table></body></html>
`;
  await writeFile(join(dir, 'requirements.html'), html);
}
