/**
 * What `sso-conformance` exits with: one table for the code, `--help` and the README (a test
 * compares the README's sentence with it).
 */
export const EXIT_CODES = {
  conformant: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
  terminated: 143,
} as const;

export const EXIT_CODE_MEANINGS: ReadonlyArray<{ code: number; meaning: string }> = [
  { code: EXIT_CODES.conformant, meaning: 'every scenario passed (or failed as expected)' },
  { code: EXIT_CODES.failed, meaning: 'a MUST failed (a failed SHOULD only warns)' },
  { code: EXIT_CODES.usage, meaning: 'usage or set-up error (every problem with the command line is listed)' },
  { code: EXIT_CODES.interrupted, meaning: 'interrupted by Ctrl-C, after stopping everything the run started' },
  { code: EXIT_CODES.terminated, meaning: 'stopped by SIGTERM, after stopping everything the run started' },
];

/** The `Exit codes:` block of `--help`. */
export function exitCodeHelp(): string {
  return `Exit codes:\n${EXIT_CODE_MEANINGS.map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`).join('\n')}\n`;
}

/** The README's sentence: `Exit codes: \`0\` ..., \`1\` ....` */
export function exitCodeSentence(): string {
  return `Exit codes: ${EXIT_CODE_MEANINGS.map((e) => `\`${e.code}\` ${e.meaning}`).join('; ')}.`;
}
