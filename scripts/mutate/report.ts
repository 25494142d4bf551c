/**
 * The mutation report: report.json (every mutant with its verdict, read back by --incremental) and
 * summary.md / the terminal summary (score, survivors with file and line, MUST requirements proven
 * able to fail, equivalent mutants with their reasons).
 */
import { readFile } from 'node:fs/promises';
import { belongsToProfile, type Catalogue, newestProfile } from '../../features/runner/requirements.ts';
import type { Judgement, MutantStatus } from './judge.ts';
import type { NumberedMutant, TargetName } from './targets.ts';

export interface ReportedMutant {
  mutant: NumberedMutant;
  target: TargetName;
  judgement: Judgement;
  /** The verdict was carried over from the previous run (--incremental). */
  reused: boolean;
}

export interface MutationReport {
  createdAt: string;
  wallMs: number;
  targets: Array<{ name: TargetName; files: string[]; judge: string }>;
  mutants: ReportedMutant[];
  /** The contract profile the suite judged with; its MUST requirements are the ones to prove (absent in older reports: the newest). */
  profile?: string;
  /** With --sample: how many mutants the sample was drawn from (the score is then an estimate). */
  sampledFrom: number | undefined;
  /** With --prove-musts: how many mutants were chosen per MUST requirement (the score is then not the target's). */
  provingRequirements?: number | undefined;
  coverageRunMs: number | undefined;
  scenariosThatCouldNotJudge: string[];
}

/** Identifies a mutant across runs: its target, its file's content, and the edit. */
export function resultKey(mutant: Pick<NumberedMutant, 'key'>, target: TargetName): string {
  return `${target}|${mutant.key}`;
}

export async function previousResults(file: string): Promise<Map<string, { judge: string; judgement: Judgement }>> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const results = new Map<string, { judge: string; judgement: Judgement }>();
  if (text === undefined) return results;
  const report = JSON.parse(text) as MutationReport;
  const judges = new Map(report.targets.map((t) => [t.name, t.judge]));
  for (const entry of report.mutants) {
    results.set(resultKey(entry.mutant, entry.target), {
      judge: judges.get(entry.target) ?? '',
      judgement: entry.judgement,
    });
  }
  return results;
}

/** What the report calls a mutant: the judge's verdict, or `equivalent` for a declared one no scenario killed. */
export type ReportedStatus = MutantStatus | 'equivalent';

export function reportedStatus(entry: ReportedMutant): ReportedStatus {
  const { status } = entry.judgement;
  return entry.mutant.equivalent && (status === 'survived' || status === 'no-coverage') ? 'equivalent' : status;
}

type Tally = Record<ReportedStatus, number>;

/** Score = killed / (mutants - equivalent): a mutant no client can tell apart cannot be killed. */
function tally(mutants: readonly ReportedMutant[]): Tally & { total: number; score: number } {
  const counts: Tally = { killed: 0, warned: 0, survived: 0, 'no-coverage': 0, undecided: 0, equivalent: 0 };
  for (const m of mutants) counts[reportedStatus(m)] += 1;
  const total = mutants.length;
  const judged = total - counts.equivalent;
  return { ...counts, total, score: judged === 0 ? 1 : counts.killed / judged };
}

const percent = (value: number) => `${(value * 100).toFixed(1)} %`;

/** Wilson's 95 % interval for a proportion: the score of a sample says this much about the whole. */
export function wilsonInterval(successes: number, trials: number): [number, number] {
  if (trials === 0) return [0, 1];
  const z = 1.96;
  const p = successes / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function estimateLine(
  report: MutationReport,
  t: { killed: number; total: number; equivalent: number; undecided: number },
): string {
  if (!report.sampledFrom) return '';
  const judged = t.total - t.equivalent - t.undecided;
  const [low, high] = wilsonInterval(t.killed, judged);
  return `a random sample of ${t.total} of ${report.sampledFrom} mutants: the score of all of them is between ${percent(low)} and ${percent(high)} (95 %)`;
}

function where(m: ReportedMutant): string {
  return `${m.mutant.file}:${m.mutant.line}:${m.mutant.column}`;
}

function edit(m: ReportedMutant): string {
  const one = m.mutant.description.replace(/\s+/g, ' ').trim();
  return `\`${one.length > 100 ? `${one.slice(0, 97)}...` : one}\``;
}

const STATUS_WORDS: Record<ReportedStatus, string> = {
  equivalent: 'declared equivalent (survived, and the source says why no client can tell it apart)',
  killed: 'killed (a MUST scenario failed)',
  warned: 'warned (only SHOULD scenarios failed)',
  survived: 'survived (every scenario that reaches it passed)',
  'no-coverage': 'no coverage (no passing scenario reaches it)',
  undecided: 'undecided (the run ran out of time before every scenario reaching it was tried)',
};

const PROVING_LINE = (count: number) =>
  `mutants chosen with --prove-musts, ${count} per MUST requirement (those its scenarios reach that the fewest others do): this score is not the target's, the sample's is`;

export function renderSummary(report: MutationReport, catalogue: Catalogue): { text: string; markdown: string } {
  const lines: string[] = [];
  const all = tally(report.mutants);
  lines.push('# Mutation report', '');
  lines.push(
    `${report.createdAt}, ${(report.wallMs / 60_000).toFixed(1)} min` +
      (report.coverageRunMs ? ` (coverage run ${(report.coverageRunMs / 1000).toFixed(0)} s)` : '') +
      `; ${report.mutants.filter((m) => m.reused).length} verdicts reused from the previous run.`,
    '',
  );
  lines.push(
    '| target | mutants | killed | warned | survived | no coverage | undecided | score | declared equivalent |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const target of report.targets) {
    const t = tally(report.mutants.filter((m) => m.target === target.name));
    lines.push(
      `| ${target.name} | ${t.total} | ${t.killed} | ${t.warned} | ${t.survived} | ${t['no-coverage']} | ${t.undecided} | ${percent(t.score)} | ${t.equivalent} |`,
    );
  }
  lines.push(
    `| **all** | ${all.total} | ${all.killed} | ${all.warned} | ${all.survived} | ${all['no-coverage']} | ${all.undecided} | **${percent(all.score)}** | ${all.equivalent} |`,
    '',
  );
  if (report.sampledFrom) lines.push(`${estimateLine(report, all)}.`, '');
  if (report.provingRequirements) lines.push(`${PROVING_LINE(report.provingRequirements)}.`, '');
  lines.push(
    'Score = killed / (mutants - declared equivalent). A declared equivalent is a mutant that survived on a statement the source marks `// mutation-equivalent: <reason>`; the reasons are listed below.',
    '',
  );

  lines.push(
    '## By operator',
    '',
    '| operator | mutants | killed | equivalent | score |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  const operators = [...new Set(report.mutants.map((m) => m.mutant.operator))].sort();
  for (const operator of operators) {
    const t = tally(report.mutants.filter((m) => m.mutant.operator === operator));
    lines.push(`| ${operator} | ${t.total} | ${t.killed} | ${t.equivalent} | ${percent(t.score)} |`);
  }
  lines.push('');

  lines.push('## MUST requirements proven able to fail', '');
  const killedBy = new Map<string, number>();
  for (const m of report.mutants) {
    if (m.judgement.status !== 'killed') continue;
    for (const id of m.judgement.decidedBy?.requirements ?? []) killedBy.set(id, (killedBy.get(id) ?? 0) + 1);
  }
  const profile = report.profile ?? newestProfile(catalogue);
  const musts = catalogue.requirements.filter((r) => r.level === 'MUST' && !r.retired && belongsToProfile(r, profile));
  const unproven = musts.filter((r) => !killedBy.has(r.id));
  lines.push(
    `${musts.length - unproven.length} of ${musts.length} MUST requirements have a scenario that a mutant made fail.`,
    '',
    '| requirement | mutants killed by its scenarios |',
    '| --- | ---: |',
  );
  for (const r of musts) lines.push(`| ${r.id} | ${killedBy.get(r.id) ?? '**none**'} |`);
  lines.push('');

  for (const status of ['survived', 'warned', 'no-coverage', 'undecided', 'equivalent'] as const) {
    const list = report.mutants.filter((m) => reportedStatus(m) === status);
    lines.push(`## ${STATUS_WORDS[status]}: ${list.length}`, '');
    for (const m of list) {
      const by = m.judgement.decidedBy;
      const detail =
        status === 'warned' && by
          ? ` — ${by.requirements.join(', ')}: ${by.name}`
          : status === 'survived'
            ? ` — ${m.judgement.passedScenarios} scenario(s) passed with it`
            : status === 'equivalent'
              ? ` — ${m.mutant.equivalent}`
              : '';
      lines.push(`- \`${where(m)}\` ${m.target} ${m.mutant.operator}: ${edit(m)}${detail}`);
    }
    lines.push('');
  }

  if (report.scenariosThatCouldNotJudge.length > 0) {
    lines.push('## Scenarios that did not pass without a mutant (they judged nothing)', '');
    for (const s of report.scenariosThatCouldNotJudge) lines.push(`- ${s}`);
    lines.push('');
  }
  const markdown = `${lines.join('\n')}\n`;

  const text = [
    `mutation score: ${percent(all.score)} (${all.killed} killed of ${all.total}; ${all.warned} warned, ${all.survived} survived, ${all['no-coverage']} without coverage, ${all.undecided} undecided; ${all.equivalent} declared equivalent)`,
    ...report.targets.map((target) => {
      const t = tally(report.mutants.filter((m) => m.target === target.name));
      return `  ${target.name}: ${percent(t.score)} (${t.killed} of ${t.total - t.equivalent})`;
    }),
    ...(report.sampledFrom ? [`  ${estimateLine(report, all)}`] : []),
    ...(report.provingRequirements ? [`  ${PROVING_LINE(report.provingRequirements)}`] : []),
    `MUST requirements proven able to fail: ${musts.length - unproven.length} of ${musts.length}` +
      (unproven.length > 0 ? ` (not proven: ${unproven.map((r) => r.id).join(', ')})` : ''),
    ...report.mutants
      .filter((m) => reportedStatus(m) !== 'killed' && reportedStatus(m) !== 'equivalent')
      .map((m) => `  ${reportedStatus(m).padEnd(11)} ${where(m)} ${m.mutant.operator}: ${edit(m)}`),
    '',
  ].join('\n');
  return { text, markdown };
}
