/**
 * The Cucumber plugin that keeps a shard's share of the scenarios (`--shard i/n`). It runs in
 * Cucumber's coordinating process after Cucumber's own filters (paths, --tags, --name), so every
 * shard plans from the same scenarios, and writes the plan it followed (the shard record) for the
 * run's reports and for merge-reports. Bundled per run by build-run.ts and loaded by Cucumber from
 * that file (a plugin is named by a module specifier).
 */
import { writeFileSync } from 'node:fs';
import type { IFilterablePickle, Plugin } from '@cucumber/cucumber/api';
import { plannedScenarioOf, planShards } from './shards.ts';

export interface ShardPluginOptions {
  index: number;
  count: number;
  /** Seconds by scenario id (`uri:line`) from an earlier run; empty: one per scenario. */
  durations: Record<string, number>;
  /** Where the shard record (ShardRecord, run-record.ts) is written. */
  recordFile: string;
}

export const SHARD_PLUGIN_OPTIONS_KEY = 'ssoConformanceShard';

const plugin: Plugin<ShardPluginOptions> = {
  type: 'plugin',
  optionsKey: SHARD_PLUGIN_OPTIONS_KEY,
  coordinator: ({ transform, options }) => {
    transform('pickles:filter', (pickles: readonly IFilterablePickle[]) => {
      const planned = pickles.map((p) => ({ source: p, scenario: plannedScenarioOf(p.pickle, p.gherkinDocument) }));
      const plan = planShards(
        planned.map((p) => p.scenario),
        options.count,
        new Map(Object.entries(options.durations)),
      );
      const mine = new Set(plan.shards[options.index - 1]);
      writeFileSync(
        options.recordFile,
        `${JSON.stringify(
          {
            index: options.index,
            count: options.count,
            fingerprint: plan.fingerprint,
            planned: planned.length,
            costs: plan.costs,
            scenarios: plan.shards[options.index - 1] ?? [],
          },
          null,
          2,
        )}\n`,
      );
      return planned.filter((p) => mine.has(p.scenario.id)).map((p) => p.source);
    });
  },
};

export default plugin;
