/**
 * The CLI self-check: the suite's CLI chapter must fail every deliberately broken CLI
 * (scripts/self-check/broken-cli.py: the Python target CLI with exactly one realistic bug), and say
 * which requirement caught it.
 *
 *   node --import tsx scripts/self-check/broken-clis.ts [--variants a,b] [--jobs N] [--reports DIR]
 *
 * 1. Baseline: the unbroken Python CLI (targets/python/cli.py) through features/cli/. Every MUST must
 *    pass, or a failing variant proves nothing.
 * 2. One suite run per variant (`--cli-cmd "python3 broken-cli.py <variant>"`), reports in
 *    `<reports>/<variant>/`.
 * 3. A variant is caught by the requirements that passed on the baseline and failed on it (read from
 *    each run's requirements.json). Caught by a MUST: the suite run fails, as it must. Caught only by a
 *    SHOULD: the run warns; shown as such. Not caught, or the run did not finish: the self-check fails.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { positiveInt } from '../../common/command-line.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BROKEN_CLI = join(ROOT, 'scripts/self-check/broken-cli.py');
const GOOD_CLI = join(ROOT, 'targets/python/cli.py');

interface RequirementVerdict {
  id: string;
  level: 'MUST' | 'SHOULD';
  verdict: string;
}

interface RunOutcome {
  exitCode: number | null;
  requirements: RequirementVerdict[] | undefined;
  wallS: number;
}

function runSuite(cliCommand: string, reports: string): Promise<RunOutcome> {
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'features/main.ts'),
        '--cli-cmd',
        cliCommand,
        '--reports',
        reports,
        '--parallel',
        '2',
        join(ROOT, 'features/cli'),
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] },
    );
    child.on('close', async (exitCode) => {
      const requirements = await readFile(join(reports, 'requirements.json'), 'utf8')
        .then((text) => {
          const parsed = JSON.parse(text) as {
            requirements: Array<{ requirement: { id: string; level: 'MUST' | 'SHOULD' }; verdict: string }>;
          };
          return parsed.requirements.map((r) => ({
            id: r.requirement.id,
            level: r.requirement.level,
            verdict: r.verdict,
          }));
        })
        .catch(() => undefined);
      resolvePromise({ exitCode, requirements, wallS: (Date.now() - started) / 1000 });
    });
  });
}

async function listVariants(): Promise<Array<{ name: string; bug: string }>> {
  const output = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn('python3', [BROKEN_CLI, '--list'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    child.on('close', (code) =>
      code === 0 ? resolvePromise(text) : reject(new Error(`broken-cli.py --list exited ${code}`)),
    );
  });
  return output
    .split('\n')
    .map((line) => /^(\S+)\s+(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1] as string, bug: m[2] as string }));
}

async function main(): Promise<number> {
  const program = new Command('broken-clis')
    .option('--variants <names>', 'comma-separated variants (default: every one broken-cli.py lists)')
    .option('--jobs <n>', 'suite runs at once', positiveInt, 1)
    .option('--reports <dir>', 'where each run writes its reports', 'reports/self-check-cli')
    .parse(process.argv);
  const flags = program.opts<{ variants?: string; jobs: number; reports: string }>();
  const reports = resolve(flags.reports);
  const all = await listVariants();
  const wanted = flags.variants?.split(',').map((v) => v.trim());
  const unknown = (wanted ?? []).filter((name) => !all.some((v) => v.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown variant(s): ${unknown.join(', ')}; broken-cli.py --list names them\n`);
    return 2;
  }
  const variants = wanted ? all.filter((v) => wanted.includes(v.name)) : all;

  process.stdout.write('baseline: the unbroken Python CLI\n');
  const baseline = await runSuite(`python3 ${GOOD_CLI}`, join(reports, 'baseline'));
  const mustFailures = (baseline.requirements ?? []).filter((r) => r.level === 'MUST' && r.verdict === 'failed');
  if (!baseline.requirements || baseline.exitCode !== 0 || mustFailures.length > 0) {
    process.stdout.write(
      `the baseline did not pass (exit ${baseline.exitCode}; MUSTs failed: ${mustFailures.map((r) => r.id).join(', ') || 'none'}): a failing variant would prove nothing\ncli self-check: 0 passed, 1 failed\n`,
    );
    return 1;
  }
  const passedOnBaseline = new Set(baseline.requirements.filter((r) => r.verdict === 'passed').map((r) => r.id));

  const rows: string[] = [];
  let passed = 0;
  let failed = 0;
  const queue = [...variants];
  const worker = async () => {
    for (let variant = queue.shift(); variant; variant = queue.shift()) {
      const outcome = await runSuite(`python3 ${BROKEN_CLI} ${variant.name}`, join(reports, variant.name));
      const caughtBy = (outcome.requirements ?? []).filter((r) => r.verdict === 'failed' && passedOnBaseline.has(r.id));
      const must = caughtBy.filter((r) => r.level === 'MUST');
      const verdict = !outcome.requirements
        ? 'ERROR (the suite did not finish)'
        : must.length > 0 && outcome.exitCode === 1
          ? 'caught'
          : caughtBy.length > 0
            ? 'caught (SHOULD only: the run warns)'
            : 'NOT CAUGHT';
      if (verdict.startsWith('caught')) passed += 1;
      else failed += 1;
      const line = `${variant.name.padEnd(24)} ${verdict.padEnd(36)} ${caughtBy.map((r) => `${r.id} (${r.level})`).join(', ') || '-'}  [${outcome.wallS.toFixed(0)} s]`;
      rows.push(line);
      process.stdout.write(`${line}\n`);
    }
  };
  await Promise.all(Array.from({ length: flags.jobs }, worker));
  process.stdout.write(`\ncli self-check: ${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`broken-clis: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
