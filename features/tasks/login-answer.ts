/**
 * The poll answer that handed out the key in this scenario: the one the harness received when it
 * played the CLI, or else the one the CLI under test received, as the wire tap saw it.
 */
import assert from 'node:assert/strict';
import { CLI_SSO_PATHS, parsePollAnswer } from '../../protocol/cli-sso.ts';
import type { ReadyAnswer } from '../support/scenario-state.ts';
import type { ConformanceWorld } from '../support/world.ts';

export function loginAnswer(world: ConformanceWorld): ReadyAnswer {
  const own = world.state.readyAnswer;
  if (own) return own;
  const answers = world.tap.jsonAnswers('GET', CLI_SSO_PATHS.poll(''));
  const ready = answers
    .filter((a) => a.status === 200)
    .map((a) => parsePollAnswer(a.body))
    .filter((a): a is ReadyAnswer => a.status === 'ready');
  assert.equal(
    ready.length,
    1,
    `expected exactly one poll answer with a key, saw ${ready.length} of ${answers.length} polls`,
  );
  return ready[0] as ReadyAnswer;
}
