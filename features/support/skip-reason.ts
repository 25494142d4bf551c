/**
 * How a scenario is skipped instead of failed: any layer (a step, a task, the world, a driver)
 * throws ConfigurationNotOffered when the target cannot run with what the scenario needs, and
 * support/skips.ts turns it into Cucumber's "skipped" with the reason attached. This file imports
 * nothing, so that drivers can throw it without reaching up to the world.
 */

/** Attachments starting with this say why a scenario was skipped (support/skips.ts, runner). */
export const SKIP_REASON_PREFIX = 'skipped because the target ';

/** The target cannot run with the configuration a scenario needs: the scenario is skipped. */
export class ConfigurationNotOffered extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ConfigurationNotOffered';
  }
}
