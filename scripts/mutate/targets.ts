/**
 * What `npm run mutate` mutates, and how a mutated copy is built and started: each target is one of
 * our components, bundled with esbuild from its entry point exactly as the suite's embedded default
 * is (features/runner/build-run.ts), except that the files it mutates pass through one text edit on
 * the way (a mutant, or the coverage probes). The harness itself is never mutated: it is the judge.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';
import ts from 'typescript';
import { shellQuote } from '../../features/drivers/child-process.ts';
import { ACTIVE, instrument, PROBE } from './instrument.ts';
import { type Mutant, mutantsOf } from './operators.ts';

export type TargetName = 'gateway' | 'cli';

export interface TargetSpec {
  name: TargetName;
  /** The component's command-line entry point. */
  entry: string;
  /** Folders whose source files are mutated (test files and test support excepted). */
  folders: readonly string[];
  /** How the suite is told to use a build of this target, given its start command. */
  suiteFlags(command: string): string[];
}

/** Coverage files are written here by a probed build; the harness passes it on (see suiteFlags). */
export const COVERAGE_DIR_VARIABLE = 'SSO_MUTATION_COVERAGE_DIR';

export const TARGETS: Readonly<Record<TargetName, TargetSpec>> = {
  gateway: {
    name: 'gateway',
    entry: 'reference-proxy/main.ts',
    folders: ['reference-proxy', 'protocol'],
    suiteFlags: (command) => ['--gateway-cmd', `${command} --port {port} --config {config}`],
  },
  cli: {
    name: 'cli',
    entry: 'cli/main.ts',
    folders: ['cli', 'protocol'],
    // The reference CLI writes LiteLLM's token file; a mutant of it is judged as it would be.
    suiteFlags: (command) => ['--cli-cmd', command, '--cli-writes-token-file'],
  },
};

export interface NumberedMutant extends Mutant {
  /** Index in the target's list: the number a probe records and a report shows. */
  id: number;
  /** Stable while the file's code is unchanged (codeHash): the hash, the mutant's place in the file and the edit. */
  key: string;
}

export interface TargetMutants {
  target: TargetSpec;
  /** The target's mutants are numbered firstId .. firstId + size - 1. */
  firstId: number;
  size: number;
  mutants: NumberedMutant[];
  /** Source text of every mutated file, by repository-relative path. */
  sources: ReadonlyMap<string, string>;
  /** Code hash of every mutated file (codeHash). */
  fileHashes: ReadonlyMap<string, string>;
}

/**
 * A hash of a file's code alone: its tokens, without comments and layout. Editing a comment (an
 * equivalence mark, a reworded explanation) keeps every mutant's key, so --incremental keeps its
 * verdict; the mutants of a file whose code changed are judged again.
 */
export function codeHash(text: string): string {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const hash = createHash('sha256');
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    hash.update(`${kind}:${scanner.getTokenText()}\0`);
  }
  return hash.digest('hex').slice(0, 16);
}

export function isMutatedFile(relativePath: string): boolean {
  return (
    relativePath.endsWith('.ts') &&
    !relativePath.endsWith('.test.ts') &&
    !relativePath.endsWith('.d.ts') &&
    !relativePath.split('/').includes('test-support')
  );
}

/** The mutants of `files`, numbered from `firstId` (targets share one numbering, see main.ts). */
export async function collectMutants(
  rootDir: string,
  target: TargetSpec,
  files: readonly string[],
  firstId: number,
): Promise<TargetMutants> {
  const mutants: NumberedMutant[] = [];
  const sources = new Map<string, string>();
  const fileHashes = new Map<string, string>();
  for (const file of files) {
    const text = await readFile(join(rootDir, file), 'utf8');
    const hash = codeHash(text);
    sources.set(file, text);
    fileHashes.set(file, hash);
    const found = mutantsOf(file, text);
    found.mutants.forEach((mutant, ordinal) => {
      mutants.push({
        ...mutant,
        id: firstId + mutants.length,
        key: `${file}@${hash}#${ordinal}:${mutant.operator}:${mutant.description}`,
      });
    });
  }
  return { target, firstId, size: mutants.length, mutants, sources, fileHashes };
}

/** Which mutant a started process runs, by scenario, for one round of a judge run (judge.ts). */
export const PLAN_VARIABLE = 'SSO_MUTATION_PLAN';
/** Runs one mutant in every process, for reproducing a result by hand. */
export const MUTANT_VARIABLE = 'SSO_MUTANT';

/**
 * The build's banner. ACTIVE is the mutant this process runs: SSO_MUTANT's number, or the number the
 * round's plan gives the scenario the harness says this process serves (SSO_CONFORMANCE_SCENARIO),
 * or none (-1). PROBE marks mutants reached; at exit a process with a coverage folder writes what it
 * reached there, with its scenario, in a file of its own.
 */
function banner(firstId: number, size: number): string {
  return `
const ${ACTIVE} = (() => {
  const env = process.env;
  if (env.${MUTANT_VARIABLE}) return Number(env.${MUTANT_VARIABLE});
  if (!env.${PLAN_VARIABLE}) return -1;
  const plan = JSON.parse(require('node:fs').readFileSync(env.${PLAN_VARIABLE}, 'utf8'));
  const id = plan[env.SSO_CONFORMANCE_SCENARIO || ''];
  return typeof id === 'number' ? id : -1;
})();
const ${PROBE}Hits = new Uint8Array(${size});
function ${PROBE}() { for (let i = 0; i < arguments.length; i++) ${PROBE}Hits[arguments[i] - ${firstId}] = 1; }
if (process.env.${COVERAGE_DIR_VARIABLE}) process.once('exit', () => {
  const ids = [];
  for (let i = 0; i < ${PROBE}Hits.length; i++) if (${PROBE}Hits[i]) ids.push(i + ${firstId});
  const file = require('node:path').join(process.env.${COVERAGE_DIR_VARIABLE}, process.pid + '-' + Date.now() + '.json');
  try { require('node:fs').writeFileSync(file, JSON.stringify({ scenario: process.env.SSO_CONFORMANCE_SCENARIO || '', ids })); } catch {}
});
`;
}

/**
 * Bundles the target with every mutant behind its switch and the coverage probes, into `outfile`
 * (CommonJS, as the embedded default is). Returns the shell command that starts it and the mutants
 * the bundle really holds.
 */
export async function buildTarget(
  rootDir: string,
  set: TargetMutants,
  outfile: string,
): Promise<{ command: string; built: Set<number> }> {
  const byFile = new Map<string, NumberedMutant[]>();
  for (const mutant of set.mutants) byFile.set(mutant.file, [...(byFile.get(mutant.file) ?? []), mutant]);
  const plugin: Plugin = {
    name: 'mutate',
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.ts$/ }, (args) => {
        const file = relative(rootDir, args.path).split(sep).join('/');
        const text = set.sources.get(file);
        if (text === undefined) return undefined;
        return { contents: instrument(text, byFile.get(file) ?? []), loader: 'ts' };
      });
    },
  };
  await build({
    entryPoints: [join(rootDir, set.target.entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    external: ['better-sqlite3', 'pg-native'],
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: {
      js: `const importMetaUrl = require('node:url').pathToFileURL(__filename).href;\n${banner(set.firstId, set.size)}`,
    },
    plugins: [plugin],
    logLevel: 'silent',
  });
  // esbuild leaves out what the entry point never uses (tree shaking): a mutant whose switch is not
  // in the bundle is not in this target at all (a protocol/ parser only the CLI calls, in the gateway).
  const bundle = await readFile(outfile, 'utf8');
  const built = new Set([...bundle.matchAll(new RegExp(`${ACTIVE} === (\\d+)\\b`, 'g'))].map((m) => Number(m[1])));
  const command = [process.execPath, join(rootDir, 'features/runner/start-with-code-cache.cjs'), outfile]
    .map(shellQuote)
    .join(' ');
  return { command, built };
}
