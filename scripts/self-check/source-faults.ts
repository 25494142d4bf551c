/**
 * Logic faults of the self-check: each is a few lines of the reference gateway's source, written
 * wrong the way a person could write them, and applied to a copy as it is bundled (never to the
 * files in the repository). A relay can only break what crosses the wire; these break the logic
 * behind it, and need nothing of the gateway's internals to do so.
 *
 * Each fault names the rule it breaks (docs/contract.md) and the edits, as exact text: an edit whose
 * `find` is not in the file exactly once stops the build (and `source-faults.test.ts`), so a fault
 * never silently turns into the unbroken gateway when the source moves on.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { FAULT_FIRED_EVENT } from './fault.ts';

export interface SourceEdit {
  /** Repository-relative path of the file. */
  file: string;
  find: string;
  replace: string;
  /**
   * Where the fault is recorded as fired (a `fault_fired` log line, counted like a relay's): before
   * the edited statement (`statement`), or as part of the edited expression (`expression`); `none`
   * for an edit that only makes another one possible (an import).
   */
  fires: 'statement' | 'expression' | 'none';
}

export interface SourceFault {
  name: string;
  /** The rule of docs/contract.md that the fault breaks, in one line. */
  rule: string;
  /** Where that rule is written. */
  section: string;
  /** What the code does instead, for the summary. */
  mechanism: string;
  edits: readonly SourceEdit[];
}

export const SOURCE_FAULTS: readonly SourceFault[] = [
  {
    name: 'filter-skipped',
    rule: 'a destination key containing a secret-looking word (token, secret, password, ...) is dropped from the attribution metadata',
    section: '5',
    mechanism: 'the blocked words are compared with the whole key instead of looked for inside it',
    edits: [
      {
        file: 'protocol/claim-map.ts',
        find: 'const word = blockedKeyWords(rules).find((w) => lower.includes(w));',
        replace: 'const word = blockedKeyWords(rules).find((w) => lower === w);',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'wrong-expiry',
    rule: 'the CLI key expires LITELLM_CLI_JWT_EXPIRATION_HOURS after it is issued (exp = iat + hours x 3600)',
    section: '6',
    mechanism: "the key's exp is twice the lifetime; the answer's expires_in still tells the configured one",
    edits: [
      {
        file: 'reference-proxy/key-issuer.ts',
        find: 'const expiresAt = issuedAt + this.lifetimeSeconds;',
        replace: 'const expiresAt = issuedAt + 2 * this.lifetimeSeconds;',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'forged-key-accepted',
    rule: 'a key whose signature does not verify (tampered, another signer) is refused with 401',
    section: '6',
    mechanism: 'a key whose signature fails is decoded and trusted anyway (a "grace" for keys of an earlier secret)',
    edits: [
      {
        file: 'reference-proxy/key-issuer.ts',
        find: "import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';",
        replace: "import { decodeJwt, errors as joseErrors, jwtVerify, SignJWT } from 'jose';",
        fires: 'none',
      },
      {
        file: 'reference-proxy/key-issuer.ts',
        find: `        requiredClaims: ['exp', 'sub', 'iat'],
      });`,
        replace: `        requiredClaims: ['exp', 'sub', 'iat'],
      }).catch((error: unknown) => {
        if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) throw error;
        __selfCheckFaultFired();
        return { payload: decodeJwt(token) };
      });`,
        fires: 'none',
      },
    ],
  },
  {
    name: 'team-not-checked',
    rule: "a team_id that is not one of the person's teams is refused with 403 and no key",
    section: '2.5',
    mechanism: 'the team_id is only checked to be present, not to be one of the teams of the login',
    edits: [
      {
        file: 'reference-proxy/routes/cli-poll.ts',
        find: 'if (teamId !== undefined && !teams.includes(teamId)) {',
        replace: "if (teamId !== undefined && teamId.trim() === '') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'poll-secret-optional',
    rule: 'a poll without the right x-litellm-cli-poll-secret gets 403',
    section: '2.5',
    mechanism: 'a poll that sends no poll secret at all is let through (for "older CLIs")',
    edits: [
      {
        file: 'reference-proxy/routes/cli-poll.ts',
        find: 'if (!matchesHash(pollSecret, flow.pollSecretHash)) {',
        replace: 'if (pollSecret !== undefined && !matchesHash(pollSecret, flow.pollSecretHash)) {',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'wrong-code-limit-six',
    rule: 'the fifth wrong code ends the login; four leave it open',
    section: '2.4',
    mechanism: 'the limit is compared with > instead of >=: the sixth wrong code ends it',
    edits: [
      {
        file: 'reference-proxy/routes/cli-complete.ts',
        find: 'return failed >= MAX_FAILED_CODE_ATTEMPTS',
        replace: 'return failed > MAX_FAILED_CODE_ATTEMPTS',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'expired-key-401',
    rule: "an expired key gets 400 with the error type 'expired_key', not 401",
    section: '6',
    mechanism: 'an expired key is answered like any invalid key: 401',
    edits: [
      {
        file: 'reference-proxy/api-auth.ts',
        find: "if (check.reason === 'expired') {",
        replace: "if (check.reason === 'expired' && ctx.config.masterKey === '') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'claim-map-last-arrow',
    rule: 'each claim-map entry is split on its first "->"',
    section: '5',
    mechanism: 'the entry is split on its last "->"',
    edits: [
      {
        file: 'protocol/claim-map.ts',
        find: "const arrow = trimmed.indexOf('->');",
        replace: "const arrow = trimmed.lastIndexOf('->');",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'numbers-loosely',
    rule: 'litellm-v3 stores strings that look like numbers as numbers ("42" -> 42) and "12abc" or "1.2.3" as strings; litellm-v4 stores every string as a string',
    section: '5.1',
    mechanism: 'a string that starts with a number is stored as that number (parseFloat), whatever the profile',
    edits: [
      {
        file: 'protocol/claim-map.ts',
        find: "rules.numericStringsAsNumbers && typeof value === 'string' && NUMERIC_STRING.test(value) ? Number(value) : value;",
        replace:
          "typeof value === 'string' && !Number.isNaN(Number.parseFloat(value)) ? Number.parseFloat(value) : value;",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'user-info-for-any-key',
    rule: "a CLI key cannot read another person's /user/info row (only the master key can)",
    section: '2.7',
    mechanism: 'any valid key may read any row',
    edits: [
      {
        file: 'reference-proxy/routes/user-info.ts',
        find: "if (caller.kind !== 'master') {",
        replace: "if (caller.kind !== 'master' && caller.kind !== 'cli_key') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'session-ends-late',
    rule: 'a login session ends 600 s after it was started: at 600 s it is gone',
    section: '2.1',
    mechanism:
      'a new session is given one second too many: it still answers 600 s after it was started (a < or <= on the expiry alone differs only within the same millisecond, which no client can aim at)',
    edits: [
      {
        file: 'reference-proxy/flow-store.ts',
        find: 'if (previous === undefined) return Math.min(nowMs + FLOW_TTL_MS, next.createdAtMs + FLOW_MAX_LIFETIME_MS);',
        replace:
          'if (previous === undefined) return Math.min(nowMs + FLOW_TTL_MS + 1000, next.createdAtMs + FLOW_MAX_LIFETIME_MS);',
        fires: 'statement',
      },
    ],
  },
];

export function findSourceFault(name: string): SourceFault | undefined {
  return SOURCE_FAULTS.find((fault) => fault.name === name);
}

export class SourceFaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceFaultError';
  }
}

/** `text` with the fault's edits to `file`; throws when a `find` is not there exactly once. */
export function applyEdits(fault: SourceFault, file: string, text: string): string {
  let result = text;
  for (const edit of fault.edits.filter((e) => e.file === file)) {
    const count = result.split(edit.find).length - 1;
    if (count !== 1) {
      throw new SourceFaultError(
        `fault ${fault.name}: ${file} holds the text to replace ${count} times, not once (${JSON.stringify(edit.find.slice(0, 60))}); update the fault to the current source`,
      );
    }
    const replacement =
      edit.fires === 'statement'
        ? `__selfCheckFaultFired(); ${edit.replace}`
        : edit.fires === 'expression'
          ? `(__selfCheckFaultFired(), ${edit.replace})`
          : edit.replace;
    result = result.replace(edit.find, () => replacement);
  }
  return result;
}

/** Every edit applies to the current source (for the tests and before a run). */
export async function checkSourceFaults(
  rootDir: string,
  faults: readonly SourceFault[] = SOURCE_FAULTS,
): Promise<void> {
  for (const fault of faults) {
    for (const file of new Set(fault.edits.map((e) => e.file))) {
      applyEdits(fault, file, await readFile(join(rootDir, file), 'utf8'));
    }
  }
}

/**
 * Logs `fault_fired` once per process, as the relays log each firing: enough for the self-check to
 * know the faulty code ran; one line, so a fault on the hot path does not flood the gateway's log.
 */
const FIRED_BANNER = `
let __selfCheckFaultFiredOnce = false;
function __selfCheckFaultFired() {
  if (__selfCheckFaultFiredOnce) return;
  __selfCheckFaultFiredOnce = true;
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'warn', component: 'self-check', event: ${JSON.stringify(FAULT_FIRED_EVENT)} }) + '\\n');
}
`;

/** Bundles the reference gateway with one fault, as the suite's embedded default is bundled. */
export async function buildFaultyGateway(rootDir: string, fault: SourceFault, outfile: string): Promise<void> {
  const files = new Set(fault.edits.map((e) => e.file));
  const plugin: Plugin = {
    name: 'self-check-source-fault',
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.ts$/ }, async (args) => {
        const file = relative(rootDir, args.path).split(sep).join('/');
        if (!files.has(file)) return undefined;
        return { contents: applyEdits(fault, file, await readFile(args.path, 'utf8')), loader: 'ts' };
      });
    },
  };
  await build({
    entryPoints: [join(rootDir, 'reference-proxy/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    external: ['better-sqlite3', 'pg-native'],
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: `const importMetaUrl = require('node:url').pathToFileURL(__filename).href;\n${FIRED_BANNER}` },
    plugins: [plugin],
    logLevel: 'silent',
  });
}
