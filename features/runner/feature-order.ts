/**
 * The order a whole run hands the feature files to Cucumber: the features that took longest in the
 * previous run first. Cucumber gives each free worker the next scenario it may take, and two
 * scenarios of one feature never run at once (support/hooks.ts): when the last features left are
 * long ones, their scenarios run one after another on one worker while the others wait. Longest
 * first, the run ends on short features and the workers finish together (measured under load: 2.5 s
 * with one worker busy and 3.4 s with two at the end of a 136 s run, the last 25 s mostly spent on
 * polling.feature's 50 scenarios). A feature without a time in the previous run goes first (it may
 * be long); without a previous run the order is the files' own. Only the order changes: every
 * scenario still runs, judged the same.
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every .feature file under `featuresDir`, in the order to run them (see above). */
export async function featuresLongestFirst(
  rootDir: string,
  featuresDir: string,
  previousSeconds: ReadonlyMap<string, number>,
): Promise<string[]> {
  const files = (await featureFiles(featuresDir)).sort();
  const byFeature = new Map<string, number>();
  for (const [scenario, seconds] of previousSeconds) {
    const uri = scenario.slice(0, scenario.lastIndexOf(':'));
    byFeature.set(uri, (byFeature.get(uri) ?? 0) + seconds);
  }
  const timeOf = (file: string) => byFeature.get(relative(rootDir, file)) ?? Number.POSITIVE_INFINITY;
  // A stable sort: features of equal (or no) time keep the files' own order.
  return files.sort((a, b) => timeOf(b) - timeOf(a) || 0);
}

async function featureFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await featureFiles(path)));
    else if (entry.name.endsWith('.feature')) found.push(path);
  }
  return found;
}
