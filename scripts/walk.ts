/**
 * `npm run walk -- [--base-url URL]`: a scripted HTTP walk of one CLI login against a running
 * gateway whose IdP signs users in without a page (the mock IdP in auto-login mode):
 * start -> browser entry, following redirects -> completion form -> complete -> poll -> /models.
 * Prints each step and the attribution metadata; exits 1 at the first step that fails.
 *
 *   npm run dev -- --auto-login cli-test-user &     # the mock IdP and the gateway, wired together
 *   npm run walk
 */
import { parseArgs } from 'node:util';
import { completeLoginOverHttp } from '../common/browserless-login.ts';
import {
  browserLoginUrl,
  CLI_SSO_PATHS,
  joinUrl,
  POLL_SECRET_HEADER,
  parsePollAnswer,
  parseStartAnswer,
} from '../protocol/cli-sso.ts';

function readCommandLine(): { 'base-url': string } {
  try {
    return parseArgs({ options: { 'base-url': { type: 'string', default: 'http://127.0.0.1:4000' } } }).values;
  } catch (error) {
    // parseArgs names the option and the rule; a usage error, not a stack trace.
    process.stderr.write(
      `walk: ${error instanceof Error ? error.message : String(error)}\nusage: npm run walk -- [--base-url URL]\n`,
    );
    process.exit(2);
  }
}

const values = readCommandLine();
const base = values['base-url'];
const say = (line: string) => process.stdout.write(`${line}\n`);

async function json(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`);
  }
}

async function walk(): Promise<void> {
  const start = parseStartAnswer(await json(await fetch(joinUrl(base, CLI_SSO_PATHS.start), { method: 'POST' })));
  say(`start:    ${start.loginId} (code ${start.userCode}, expires in ${start.expiresInSeconds} s)`);
  const poll = async () =>
    parsePollAnswer(
      await json(
        await fetch(joinUrl(base, CLI_SSO_PATHS.poll(start.loginId)), {
          headers: { [POLL_SECRET_HEADER]: start.pollSecret },
        }),
      ),
    );
  say(`poll:     ${(await poll()).status}`);
  const { formPage, completion } = await completeLoginOverHttp({
    loginUrl: browserLoginUrl(base, start.loginId),
    userCode: start.userCode,
  });
  say(`callback: HTTP ${formPage.status}, completion form found`);
  say(
    `complete: HTTP ${completion.status}${/Authentication Successful/i.test(completion.body) ? ' "Authentication Successful"' : ''}`,
  );
  const ready = await poll();
  if (ready.status !== 'ready') throw new Error(`the poll answered ${ready.status} after the completion`);
  say(
    `poll:     ready for ${ready.userId}, team ${ready.teamId ?? 'none'}, expires in ${ready.expiresInSeconds ?? '?'} s`,
  );
  say(`metadata: ${JSON.stringify(ready.attributionMetadata ?? {})}`);
  const again = await fetch(joinUrl(base, CLI_SSO_PATHS.poll(start.loginId)), {
    headers: { [POLL_SECRET_HEADER]: start.pollSecret },
  });
  say(`poll:     HTTP ${again.status} the second time (one time only)`);
  await again.arrayBuffer();
  const models = await fetch(joinUrl(base, CLI_SSO_PATHS.models), {
    headers: { authorization: `Bearer ${ready.key}` },
  });
  say(`models:   HTTP ${models.status} ${JSON.stringify(await json(models))}`);
}

walk().catch((error: unknown) => {
  process.stderr.write(`walk: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
