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

const REQUIREMENT_TAG = /^@(CLISSO-[A-Z]+-\d{2})$/;

/**
 * Why a scenario is outside the contract profile the run judges, or undefined when it is inside: a
 * scenario runs when one of its requirement tags (`@CLISSO-...`, the feature's included) is a
 * requirement of the profile. A scenario with no requirement tag judges nothing a profile could
 * leave out, and runs.
 */
export function outsideProfileReason(
  tags: readonly string[],
  profile: string,
  profileRequirements: readonly string[],
): string | undefined {
  const ids = tags.flatMap((tag) => REQUIREMENT_TAG.exec(tag)?.slice(1, 2) ?? []);
  if (ids.length === 0 || ids.some((id) => profileRequirements.includes(id))) return undefined;
  return `is judged by the contract profile ${profile} (--profile), which has none of this scenario's requirements (${ids.join(', ')})`;
}
