/** Attachments starting with this say why a scenario was skipped (support/skips.ts, runner). */
export const SKIP_REASON_PREFIX = 'skipped because the target ';
