/**
 * The self-check's answer, for people: one row per variant (rule broken -> verdict -> the scenarios
 * that failed -> their requirement IDs), as a console table and as reports/self-check/summary.md.
 */
import { firstLine, type ScenarioResult } from '../../features/runner/scenario-results.ts';
import { isCaught, type VariantStatus, type VariantVerdict } from './verdict.ts';

export interface BaselineSummary {
  label: string;
  exitCode: number;
  wallMs: number;
  outcomes: readonly ScenarioResult[];
}

export interface VariantSummary {
  name: string;
  rule: string;
  section: string;
  mechanism: string;
  exitCode: number;
  wallMs: number;
  faultFirings: number;
  verdict: VariantVerdict;
}

const STATUS_TEXT: Record<VariantStatus, string> = {
  caught: 'caught',
  warned: 'caught (SHOULD only: the suite warns)',
  'not-caught': 'NOT CAUGHT',
  unproven: 'UNPROVEN (failures, but the fault never fired)',
  error: 'ERROR (the suite did not finish)',
};

export function statusText(status: VariantStatus): string {
  return STATUS_TEXT[status];
}

export function counts(outcomes: readonly ScenarioResult[]): string {
  const passed = outcomes.filter((o) => o.verdict === 'passed').length;
  const failed = outcomes.filter((o) => o.verdict === 'failed').length;
  const skipped = outcomes.length - passed - failed;
  return `${passed} passed, ${failed} failed, ${skipped} skipped`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function consoleTable(variants: readonly VariantSummary[]): string {
  const rows = variants.map((v) => [
    v.name,
    statusText(v.verdict.status),
    String(v.faultFirings),
    String(v.verdict.caughtBy.length),
    v.verdict.requirementIds.join(' ') || '-',
    seconds(v.wallMs),
  ]);
  const header = ['variant', 'verdict', 'fault fired', 'failed scenarios', 'requirements that caught it', 'wall time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function markdownSummary(input: {
  baselines: readonly BaselineSummary[];
  variants: readonly VariantSummary[];
  discriminating: number;
  totalWallMs: number;
  /** The catalogue's MUST requirements, for the table of which ones a fault proved able to fail. */
  mustRequirements?: readonly string[];
}): string {
  const caught = input.variants.filter((v) => isCaught(v.verdict.status)).length;
  const out: string[] = [
    '# Self-check: does the suite catch broken gateways?',
    '',
    'Each variant breaks exactly one rule of docs/contract.md: on the wire, in a relay in front of the',
    'reference proxy, or in its logic, in a copy of its source (scripts/self-check/README.md). A variant',
    'is caught by the scenarios that passed on both baselines and failed on it; "fault fired" counts the',
    'times the broken code actually ran during the run (a logic fault records it once per process).',
    '',
    `**${caught} of ${input.variants.length} variants caught**; total wall time ${seconds(input.totalWallMs)}.`,
    '',
    '## Baselines (must pass)',
    '',
    '| gateway | suite exit | scenarios | wall time |',
    '|---|---|---|---|',
    ...input.baselines.map((b) => `| ${b.label} | ${b.exitCode} | ${counts(b.outcomes)} | ${seconds(b.wallMs)} |`),
    '',
    `${input.discriminating} scenarios passed on every baseline; only those count as evidence.`,
    '',
    '## Variants',
    '',
    '| variant | rule broken (docs/contract.md section) | verdict | fault fired | failed scenarios | requirements that caught it | wall time |',
    '|---|---|---|---|---|---|---|',
    ...input.variants.map(
      (v) =>
        `| \`${v.name}\` | ${escapeCell(v.rule)} (${escapeCell(v.section)}) | ${statusText(v.verdict.status)} | ${v.faultFirings} | ${v.verdict.caughtBy.length} | ${v.verdict.requirementIds.join(', ') || '-'} | ${seconds(v.wallMs)} |`,
    ),
    '',
    '## Failed scenarios per variant',
    '',
  ];
  for (const v of input.variants) {
    out.push(`### \`${v.name}\`: ${statusText(v.verdict.status)}`, '', `Mechanism: ${escapeCell(v.mechanism)}.`, '');
    if (v.verdict.caughtBy.length === 0) out.push('No scenario that passes on the baselines failed.', '');
    for (const c of v.verdict.caughtBy) {
      const ids = c.requirementIds.length > 0 ? c.requirementIds.join(', ') : 'no requirement tag';
      out.push(`- ${escapeCell(c.name)} (${ids})${c.message ? `: ${escapeCell(firstLine(c.message, 200))}` : ''}`);
    }
    if (v.verdict.caughtBy.length > 0) out.push('');
  }
  if (input.mustRequirements) out.push(...mustTable(input.mustRequirements, input.variants));
  return `${out.join('\n')}\n`;
}

/** For each MUST: the variants whose failing MUST scenarios checked it, i.e. proved it can fail. */
function mustTable(ids: readonly string[], variants: readonly VariantSummary[]): string[] {
  const proven = ids.filter((id) =>
    variants.some((v) => v.verdict.status === 'caught' && v.verdict.requirementIds.includes(id)),
  );
  return [
    '## MUST requirements a fault proved able to fail',
    '',
    `${proven.length} of ${ids.length} MUST requirements had a scenario fail on some variant of this run (the others need a fault of their own, or \`npm run mutate\`).`,
    '',
    '| requirement | failed on |',
    '|---|---|',
    ...ids.map((id) => {
      const by = variants.filter((v) => v.verdict.status === 'caught' && v.verdict.requirementIds.includes(id));
      return `| ${id} | ${by.map((v) => `\`${v.name}\``).join(', ') || '-'} |`;
    }),
    '',
  ];
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
