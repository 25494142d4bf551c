/**
 * One build holds every mutant of a target (mutant schemata, as StrykerJS builds them): each
 * mutated expression becomes `(ACTIVE === 12 ? <mutant 12> : ACTIVE === 13 ? <mutant 13> : <original>)`
 * and an emptied block `{ if (ACTIVE === 14) {} else { ... } }`, where ACTIVE is the one mutant this
 * process runs (none by default). The same build carries coverage probes: a call at the start of
 * every scope that holds mutants marks them reached when the scope runs. So a judge run starts the
 * very same file for every mutant, and never rebuilds.
 *
 * Everything here is a text edit of the TypeScript source, before esbuild bundles it.
 */
import type { CoverageScope, SwitchSite } from './operators.ts';

/** The probe function and the active mutant's number; the bundle's banner defines both (targets.ts). */
export const PROBE = '__mutationProbe';
export const ACTIVE = '__mutationActive';

export interface PlacedMutant {
  id: number;
  start: number;
  end: number;
  replacement: string;
  scope: CoverageScope;
  site: SwitchSite;
}

export function applyMutant(text: string, mutant: Pick<PlacedMutant, 'start' | 'end' | 'replacement'>): string {
  return text.slice(0, mutant.start) + mutant.replacement + text.slice(mutant.end);
}

interface Insertion {
  at: number;
  text: string;
  /**
   * Left-to-right rank among insertions at one offset: closings of the narrowest span first, then
   * probes, then openings of the widest span first (spans nest).
   */
  rank: number;
}

/** Larger than any file's length: ranks of closings and openings never meet. */
const RANK_SPAN = 1_000_000_000;

interface SiteNode {
  site: SwitchSite;
  mutants: PlacedMutant[];
  children: SiteNode[];
}

/** The file with every mutant behind its switch, and a coverage probe in every scope that holds one. */
export function instrument(text: string, mutants: readonly PlacedMutant[]): string {
  const insertions = probeInsertions(mutants);
  const roots = siteTree(mutants);

  const renderRange = (start: number, end: number, children: readonly SiteNode[], edges: boolean): string => {
    const inside = (at: number) =>
      (edges ? at >= start && at <= end : at > start && at < end) &&
      !children.some((child) => at > child.site.start && at < child.site.end);
    const points = insertions.filter((insertion) => inside(insertion.at));
    let out = '';
    let cursor = start;
    let next = 0;
    const emitTextUpTo = (limit: number) => {
      while (next < points.length && (points[next] as Insertion).at <= limit) {
        const point = points[next] as Insertion;
        out += text.slice(cursor, point.at) + point.text;
        cursor = point.at;
        next += 1;
      }
      out += text.slice(cursor, limit);
      cursor = limit;
    };
    for (const child of children) {
      emitTextUpTo(child.site.start);
      out += renderSite(child);
      cursor = child.site.end;
    }
    emitTextUpTo(end);
    return out;
  };

  const renderSite = (node: SiteNode): string => {
    const { site } = node;
    if (site.kind === 'block') {
      const guard = node.mutants.map((m) => `${ACTIVE} === ${m.id}`).join(' || ');
      return `{ if (${guard}) {} else {${renderRange(site.start + 1, site.end - 1, node.children, true)}} }`;
    }
    const original = text.slice(site.start, site.end);
    const variants = node.mutants
      .map(
        (m) =>
          `${ACTIVE} === ${m.id} ? (${applyMutant(original, { ...m, start: m.start - site.start, end: m.end - site.start })}) : `,
      )
      .join('');
    return `(${variants}(${renderRange(site.start, site.end, node.children, false)}))`;
  };

  return renderRange(0, text.length, roots, true);
}

/** Switch sites nested as their source spans are; mutants that share a span share one switch. */
function siteTree(mutants: readonly PlacedMutant[]): SiteNode[] {
  const bySpan = new Map<string, SiteNode>();
  for (const mutant of mutants) {
    const key = `${mutant.site.kind}:${mutant.site.start}:${mutant.site.end}`;
    const node = bySpan.get(key) ?? { site: mutant.site, mutants: [], children: [] };
    node.mutants.push(mutant);
    bySpan.set(key, node);
  }
  // Outer before inner: by start, then the longer first (a block and an expression never share a span).
  const nodes = [...bySpan.values()].sort(
    (a, b) => a.site.start - b.site.start || b.site.end - a.site.end || (a.site.kind === 'block' ? -1 : 1),
  );
  const roots: SiteNode[] = [];
  const stack: SiteNode[] = [];
  for (const node of nodes) {
    while (stack.length > 0 && (stack.at(-1) as SiteNode).site.end <= node.site.start) stack.pop();
    const parent = stack.at(-1);
    if (parent && node.site.end <= parent.site.end) parent.children.push(node);
    else roots.push(node);
    stack.push(node);
  }
  return roots;
}

function probeInsertions(mutants: readonly PlacedMutant[]): Insertion[] {
  const byScope = new Map<string, { scope: CoverageScope; ids: number[] }>();
  for (const { id, scope } of mutants) {
    const key = `${scope.kind}:${scope.start}:${scope.end}`;
    const entry = byScope.get(key) ?? { scope, ids: [] };
    entry.ids.push(id);
    byScope.set(key, entry);
  }
  const insertions: Insertion[] = [];
  for (const { scope, ids } of byScope.values()) {
    const call = `${PROBE}(${ids.join(',')})`;
    if (scope.kind === 'arrow') {
      const width = scope.end - scope.start;
      insertions.push({ at: scope.start, text: `(${call}, `, rank: 2 * RANK_SPAN - width });
      insertions.push({ at: scope.end, text: ')', rank: width });
    } else {
      insertions.push({ at: scope.start, text: `${call};`, rank: RANK_SPAN });
    }
  }
  return insertions.sort((a, b) => a.at - b.at || a.rank - b.rank);
}
