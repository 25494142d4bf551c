/**
 * Enforces the dependency rules of architecture.md, run by `npm test`:
 *  1. protocol/ imports nothing of ours; common/ imports only protocol/.
 *  2. mock-idp/, reference-proxy/ and cli/ never import each other; test files (`*.test.ts`) may
 *     import another component, but only through its index.ts.
 *  3. features/ never imports reference-proxy/ or cli/ (it drives gateways over HTTP and CLIs as
 *     child processes); it may use mock-idp/ through its index.ts (the harness's own IdP).
 *  4. Other folders (scripts/, bin/) reach components only through index.ts; a bin/ wrapper may
 *     import the main.ts of the command it runs.
 *  5. Only main.ts files touch process.env / argv / exit / stdin / stdout / stderr.
 *  6. cli/commands/ never imports commander (commander parses; commands act).
 *  7. features/ is layered (features/README.md): steps/ use tasks/ and support/, and import from
 *     drivers/ and pages/ only types (`import type`: the answers and gateways tasks hand back);
 *     tasks/ use drivers/, pages/ and support/, never steps/; support/ (the world) never imports
 *     steps/ or tasks/; drivers/ and pages/ import neither steps/, tasks/ nor support/, except
 *     support/skip-reason.ts (the error any layer throws to skip a scenario).
 * Prints each violation as `file:line: rule` and exits 1 when there is any.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const COMPONENTS = ['mock-idp', 'reference-proxy', 'cli'] as const;
const FOLDERS = ['protocol', 'common', ...COMPONENTS, 'features', 'scripts', 'bin'] as const;
type Folder = (typeof FOLDERS)[number];

export interface Violation {
  file: string;
  line: number;
  rule: string;
}

const IMPORT_PATTERN =
  /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;
const PROCESS_PATTERN = /\bprocess\.(env|argv|exit|exitCode|stdin|stdout|stderr|cwd|chdir|on)\b/;

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|mjs|js)$/.test(entry.name)) yield path;
  }
}

function folderOf(path: string): Folder | undefined {
  const first = relative(ROOT, path).split(sep)[0];
  return FOLDERS.find((f) => f === first);
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

const FEATURE_LAYERS = ['steps', 'tasks', 'support', 'drivers', 'pages'] as const;
type FeatureLayer = (typeof FEATURE_LAYERS)[number];

function featureLayerOf(path: string): FeatureLayer | undefined {
  const [top, layer] = relative(ROOT, path).split(sep);
  return top === 'features' ? FEATURE_LAYERS.find((l) => l === layer) : undefined;
}

/** `import type {...}`, or an import whose every name is marked `type`: it vanishes at run time. */
function isTypeOnly(statement: string): boolean {
  const clause = /^\s*(?:import|export)\s+(type\s+)?([^'"]*?)\s*from\s/.exec(statement);
  if (!clause) return false;
  if (clause[1]) return true;
  const names = /^\{([^}]*)\}$/.exec((clause[2] ?? '').trim());
  const parts = (names?.[1] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return parts.length > 0 && parts.every((name) => name.startsWith('type '));
}

/** Rule 7: the layers of features/ (steps, tasks, support, drivers, pages). */
function featureLayerViolation(file: string, target: string, statement: string): string | undefined {
  const from = featureLayerOf(file);
  const to = featureLayerOf(target);
  if (!from || !to || from === to) return undefined;
  if (from === 'steps' && (to === 'drivers' || to === 'pages') && !isTypeOnly(statement))
    return `features/steps/ may import only types from features/${to}/: go through a task (features/tasks/)`;
  if (from === 'tasks' && to === 'steps') return 'features/tasks/ must not import features/steps/ (steps use tasks)';
  if (from === 'support' && (to === 'steps' || to === 'tasks'))
    return `features/support/ must not import features/${to}/ (the world is beneath the steps and tasks)`;
  if ((from === 'drivers' || from === 'pages') && (to === 'steps' || to === 'tasks'))
    return `features/${from}/ must not import features/${to}/ (${from} know nothing of scenarios)`;
  if (
    (from === 'drivers' || from === 'pages') &&
    to === 'support' &&
    relative(ROOT, target) !== join('features', 'support', 'skip-reason.ts')
  )
    return `features/${from}/ must not import features/support/ (only support/skip-reason.ts): take what the world knows as arguments`;
  return undefined;
}

export function checkFile(file: string, text: string): Violation[] {
  const violations: Violation[] = [];
  const from = folderOf(file);
  const rel = relative(ROOT, file);
  // Test files and their helpers (a test-support/ folder) are test harness code.
  const isTest = file.endsWith('.test.ts') || rel.split(sep).includes('test-support');
  // Entry points may touch process: main.ts files, bin/ wrappers, scripts/ and any file with a
  // shebang line (each is a command of its own).
  const isEntryPoint = /(^|\/)main\.ts$/.test(rel) || from === 'bin' || from === 'scripts' || text.startsWith('#!');
  const add = (index: number, rule: string) => violations.push({ file: rel, line: lineOf(text, index), rule });

  for (const match of text.matchAll(IMPORT_PATTERN)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? '';
    if (specifier === 'commander' && rel.startsWith(join('cli', 'commands'))) {
      add(match.index, 'cli/commands/ must not import commander (commander parses; commands act)');
    }
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier);
    const layerRule = featureLayerViolation(file, target, match[0]);
    if (layerRule) add(match.index, layerRule);
    const to = folderOf(target);
    if (!from || !to || from === to) continue;
    const entry = relative(join(ROOT, to), target);
    // bin/ wrappers run a component's command, so they may import its main.ts too.
    const viaIndex = entry === 'index.ts' || (from === 'bin' && entry === 'main.ts');
    if (from === 'protocol') add(match.index, `protocol/ imports nothing of ours (imports ${to}/)`);
    else if (from === 'common' && to !== 'protocol')
      add(match.index, `common/ may import only protocol/ (imports ${to}/)`);
    else if ((COMPONENTS as readonly string[]).includes(from) && (COMPONENTS as readonly string[]).includes(to)) {
      if (!isTest) add(match.index, `${from}/ must not import ${to}/ (components never import each other)`);
      else if (!viaIndex) add(match.index, `tests in ${from}/ may reach ${to}/ only through its index.ts`);
    } else if (from === 'features' && (to === 'reference-proxy' || to === 'cli')) {
      add(match.index, `features/ must not import ${to}/: drive gateways over HTTP and CLIs as processes`);
    } else if ((COMPONENTS as readonly string[]).includes(to) && !viaIndex) {
      add(match.index, `${from}/ may reach ${to}/ only through its index.ts`);
    }
  }
  if (!isEntryPoint && !isTest) {
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (PROCESS_PATTERN.test(line) && !line.trim().startsWith('//') && !line.trim().startsWith('*')) {
        violations.push({ file: rel, line: i + 1, rule: 'only main.ts touches process (env, argv, exit, streams)' });
      }
    });
  }
  return violations;
}

export async function checkProject(): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const folder of FOLDERS) {
    const dir = join(ROOT, folder);
    try {
      for await (const file of sourceFiles(dir)) {
        if (file.endsWith('.test.ts') && folder === 'scripts') continue;
        violations.push(...checkFile(file, await readFile(file, 'utf8')));
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return violations;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const violations = await checkProject();
  for (const v of violations) process.stdout.write(`${v.file}:${v.line}: ${v.rule}\n`);
  process.stdout.write(`dependency rules: ${violations.length === 0 ? 'ok' : `${violations.length} violation(s)`}\n`);
  process.exitCode = violations.length === 0 ? 0 : 1;
}
