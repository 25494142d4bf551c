/**
 * The targets a run judges, from what the user named: a gateway started by command (ours, the
 * embedded default, is one too), or one already running with the environment it declares; the CLI
 * under test; the variables the user adds for them. Each function returns problems instead of
 * throwing, so that a command line is checked whole and every mistake is reported at once.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const declaredConfigSchema = z.object({
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)),
});

/** `--gateway-config FILE`: the `env:` map the running gateway was started with. */
export async function readDeclaredConfig(file: string): Promise<{ env: Record<string, string>; problems: string[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { env: {}, problems: [`--gateway-config ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`] };
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    return { env: {}, problems: [`--gateway-config ${file}: not YAML (${(error as Error).message.split('\n')[0]})`] };
  }
  const parsed = declaredConfigSchema.safeParse(document);
  if (parsed.success) return { env: parsed.data.env, problems: [] };
  return {
    env: {},
    problems: parsed.error.issues.map(
      (issue) =>
        `--gateway-config ${file}: ${issue.path.join('.') || '(file)'} ${issue.message}; expected "env:" with NAME: value lines`,
    ),
  };
}

/**
 * Where the harness's mock IdP must listen for a running gateway: where its declared
 * GENERIC_AUTHORIZATION_ENDPOINT points, on this machine.
 */
export function declaredIdpAddress(env: Readonly<Record<string, string>>): {
  address?: { host: string; port: number };
  problems: string[];
} {
  const problems: string[] = [];
  const endpoint = env['GENERIC_AUTHORIZATION_ENDPOINT'];
  if (!endpoint) {
    problems.push('--gateway-config must declare GENERIC_AUTHORIZATION_ENDPOINT (where the harness runs its mock IdP)');
  }
  if (!env['LITELLM_MASTER_KEY'])
    problems.push('--gateway-config must declare LITELLM_MASTER_KEY (for GET /user/info)');
  if (!endpoint) return { problems };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { problems: [...problems, `GENERIC_AUTHORIZATION_ENDPOINT must be an absolute URL, got "${endpoint}"`] };
  }
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    problems.push(`GENERIC_AUTHORIZATION_ENDPOINT must be on this machine (loopback), got host ${url.hostname}`);
    return { problems };
  }
  return {
    address: {
      host: url.hostname === 'localhost' ? '127.0.0.1' : url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
    },
    problems,
  };
}

/**
 * Variables the harness itself sets for a CLI or a gateway, per scenario: the user may not override
 * them with --cli-env / --gateway-env (the scenario would then judge another configuration than the
 * one it states).
 */
export const HARNESS_CLI_VARIABLES = /^(HOME|LITELLM_PROXY_URL|BROWSER|LD_PRELOAD|FAKETIME\w*|SSO_CONFORMANCE_\w+)$/;
export const HARNESS_GATEWAY_VARIABLES =
  /^(HOME|PORT|HOST|PROXY_BASE_URL|CONFIG_FILE_PATH|LD_PRELOAD|FAKETIME\w*|SSO_CONFORMANCE_\w+|GENERIC_\w+|LITELLM_MASTER_KEY|LITELLM_SALT_KEY|EXPERIMENTAL_UI_LOGIN|(LITELLM_)?CLI_SSO_CLAIM_MAP|CLI_SSO_CONTRACT_PROFILE|(LITELLM_)?CLI_JWT_EXPIRATION_HOURS|LITELLM_UI_SESSION_DURATION|ALLOWED_EMAIL_DOMAINS|REDIS_URL|ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE)$/;

/**
 * `--cli-env` / `--gateway-env` values: `NAME=VALUE`, or `NAME` alone to pass on the value the
 * variable has in `shell`. Every assignment is checked; the problems name the flag and the rule.
 */
export function envAssignments(
  flag: string,
  texts: readonly string[],
  reserved: RegExp,
  shell: Readonly<Record<string, string | undefined>>,
): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  for (const text of texts) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(text);
    if (!match) {
      problems.push(`${flag} takes NAME=VALUE or NAME, got "${text}"`);
      continue;
    }
    const name = match[1] as string;
    if (reserved.test(name)) {
      problems.push(
        `${flag} ${name}: the harness sets ${name} itself for every scenario (the scenarios state its value)`,
      );
      continue;
    }
    const value = match[2] ?? shell[name];
    if (value === undefined) problems.push(`${flag} ${name}: ${name} is not set in this shell; write ${name}=VALUE`);
    else env[name] = value;
  }
  return { env, problems };
}

/** `--expected-failures FILE`: one scenario name a line; blank lines and # comments are left out. */
export async function readExpectedFailures(
  flag: string,
  file: string,
): Promise<{ names: string[]; problems: string[] }> {
  try {
    const text = await readFile(file, 'utf8');
    return {
      names: text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
      problems: [],
    };
  } catch (error) {
    return { names: [], problems: [`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`] };
  }
}
