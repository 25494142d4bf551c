/**
 * Scenario lifecycle: a fresh HOME before (and a fresh browser context when a step first needs the
 * browser, see ConformanceWorld.browserPage), evidence after a failure (screenshot,
 * Playwright trace, CLI transcript, what crossed the wire, the IdP journal, the gateway's log), and
 * everything the scenario started closed, whatever happened.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { After, AfterAll, Before, Status, setDefaultTimeout, setParallelCanAssign } from '@cucumber/cucumber';
import type { Pickle } from '@cucumber/messages';
import { redactTranscript } from '../../protocol/redact.ts';
import { timings, WORKER_START_UP } from '../drivers/timings.ts';
import { closeHarness } from './harness.ts';
import { outsideProfileReason, SKIP_REASON_PREFIX } from './skip-reason.ts';
import type { ConformanceWorld } from './world.ts';

// When this process has loaded Cucumber and the support code (the coordinating process loads it
// too, only to read the step definitions; its timings are not written).
timings.add(WORKER_START_UP, performance.now());

// How long one step may take; a run's `--step-timeout` replaces it (features/runner/build-run.ts).
setDefaultTimeout(60_000);

/**
 * In a parallel run, two scenarios of one feature never run at the same time, so a feature's
 * scenarios mostly stay with one worker: the gateway configurations a feature needs are then
 * started by that worker alone instead of once per worker (each worker has its own pool).
 */
setParallelCanAssign((pickle, inProgress) => inProgress.every((other) => other.uri !== pickle.uri));

Before(async function (this: ConformanceWorld, { pickle }) {
  // A scenario none of whose requirements the profile judges is skipped before it starts anything.
  const { profile, profileRequirements } = this.parameters;
  const outside = outsideProfileReason(
    pickle.tags.map((t) => t.name),
    profile,
    profileRequirements,
  );
  if (outside !== undefined) {
    this.attach(`${SKIP_REASON_PREFIX}${outside}`, 'text/plain');
    return 'skipped';
  }
  await timings.time('scenario set-up (HOME, IdP journal mark)', () => this.prepare(pickle));
  return undefined;
});

After(async function (this: ConformanceWorld, { pickle, result }) {
  const began = performance.now();
  try {
    if (result?.status === Status.FAILED)
      await timings.time('evidence of a failure', () => collectEvidence(this, pickle));
    else if (this.context) await timings.time('browser trace stopped', () => this.stopTrace());
  } finally {
    await this.cleanUp();
    timings.add('scenario clean-up (all of it)', performance.now() - began);
  }
});

AfterAll(async () => {
  await closeHarness();
});

async function collectEvidence(world: ConformanceWorld, pickle: Pickle): Promise<void> {
  const dir = join(world.parameters.evidenceDir, evidenceFolderName(pickle));
  await mkdir(dir, { recursive: true });
  const saved: string[] = [];
  const save = async (name: string, text: string) => {
    if (text.trim() === '') return;
    const clean = redactTranscript(text);
    await writeFile(join(dir, name), clean);
    saved.push(name);
    world.attach(`${name}:\n${clean.slice(-20_000)}`, 'text/plain');
  };
  // The CLI's own words first: a reader sees "Authentication failed: ..." before any of our wording.
  if (world.cliSession) world.attach(world.cliSession.lastWords(), 'text/plain');
  const page = world.openedPage;
  if (page) {
    try {
      world.attach(await page.screenshot({ fullPage: true }), 'image/png');
    } catch {
      // the page may be gone; the trace still has the last snapshot
    }
  }
  if (await world.stopTrace(join(dir, 'trace.zip'))) saved.push('trace.zip');
  await save('cli-transcript.txt', world.cliSession?.transcript() ?? '');
  await save('wire.txt', world.cliSession ? world.tap.evidence() : '');
  await save('gateway.log', world.startedGateway?.log() ?? '');
  const h = await world.harness();
  await save('idp-journal.json', JSON.stringify(h.idp.journal.query({ since: world.journalSince }), null, 2));
  world.attach(`evidence saved in ${dir}: ${saved.join(', ')}`, 'text/plain');
}

/**
 * A readable folder name that is still unique: the name's slug (long names of an outline's examples
 * share their start) and a short hash of where the scenario is and which example it is.
 */
function evidenceFolderName(pickle: Pickle): string {
  const where = createHash('sha256')
    .update(`${pickle.uri}\n${pickle.astNodeIds.join(',')}`)
    .digest('hex');
  return `${slug(pickle.name).slice(0, 70)}-${where.slice(0, 8)}`;
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 80) || 'scenario'
  );
}
