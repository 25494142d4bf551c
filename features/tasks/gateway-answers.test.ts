/**
 * The wire answers' schemas judge the same fields by the same rules as the contract states them
 * (docs/contract.md section 2), and their failures name the field and the rule for a QA reader.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import {
  detailMessageOf,
  expectApiError,
  expectModelList,
  expectWireReady,
  holdsKey,
  keyHandedOutBy,
} from './gateway-answers.ts';

const answer = (status: number, json: unknown): HttpAnswer => ({
  status,
  headers: {},
  text: JSON.stringify(json),
  json,
  elapsedMs: 0,
});

const fails = (run: () => unknown, message: RegExp) =>
  assert.throws(run, (error: Error) => {
    assert.match(error.message, message);
    return true;
  });

test('a CLI SSO error body is {"detail": "<non-empty string>"}', () => {
  assert.equal(detailMessageOf({ detail: 'expired' }), 'expired');
  for (const body of [{ detail: '  ' }, { detail: 3 }, { message: 'x' }, ['detail'], 'detail', null])
    assert.equal(detailMessageOf(body), undefined, JSON.stringify(body));
});

test('an API error body has an error object with a message and a type, and a code that matches the status', () => {
  assert.deepEqual(
    expectApiError(answer(401, { error: { message: 'no', type: 'auth', code: '401' } }), 'GET /models'),
    {
      message: 'no',
      type: 'auth',
      code: '401',
    },
  );
  fails(
    () => expectApiError(answer(401, { detail: 'no' }), 'GET /models'),
    /the 401 answer of GET \/models: "error" should be an object/,
  );
  fails(() => expectApiError(answer(401, []), 'GET /models'), /is not an \{"error": \{\.\.\.\}\} body/);
  fails(
    () => expectApiError(answer(401, { error: { message: ' ', type: 'auth' } }), 'x'),
    /"error\.message" should be a non-empty string/,
  );
  fails(
    () => expectApiError(answer(401, { error: { message: 'no', type: '' } }), 'x'),
    /"error\.type" should be a non-empty string/,
  );
  fails(
    () => expectApiError(answer(401, { error: { message: 'no', type: 'a', code: 400 } }), 'x'),
    /says error\.code 400/,
  );
});

test('a model list lists every name, each entry with an id, "model", a created number and an owner', () => {
  const entry = { id: 'gpt', object: 'model', created: 1, owned_by: 'me' };
  assert.deepEqual(expectModelList(answer(200, { object: 'list', data: [entry] }), 'GET /models', 'gpt'), ['gpt']);
  fails(
    () => expectModelList(answer(200, { object: 'lists', data: [] }), 'GET /models', 'gpt'),
    /GET \/models: "object" should be "list"/,
  );
  fails(
    () => expectModelList(answer(200, { object: 'list', data: [{ ...entry, created: '1' }] }), 'GET /models', 'gpt'),
    /GET \/models: "data\[0\]\.created" should be a number/,
  );
  fails(
    () => expectModelList(answer(200, { object: 'list', data: [entry] }), 'GET /models', 'gpt, claude'),
    /does not list claude/,
  );
});

test('the ready answer on the wire: every field present and of its type, for the expected user and teams', () => {
  const ready = {
    status: 'ready',
    key: 'sk-1',
    user_id: 'alice',
    team_id: 't1',
    teams: ['t1'],
    team_details: [{ team_id: 't1', team_alias: null }],
  };
  const expected = { userId: 'alice', teamId: 't1', teams: ['t1'] };
  expectWireReady(answer(200, ready), expected);
  const { team_id: _, ...noTeamId } = ready;
  fails(() => expectWireReady(answer(200, noTeamId), expected), /"team_id" should be present/);
  fails(() => expectWireReady(answer(200, { ...ready, key: '' }), expected), /"key" should be a non-empty string/);
  fails(
    () => expectWireReady(answer(200, { ...ready, team_details: [{ team_id: 't1' }] }), expected),
    /"team_details\[0\]\.team_alias" should be present/,
  );
  fails(
    () => expectWireReady(answer(200, { ...ready, requires_team_selection: true }), expected),
    /"requires_team_selection" should not be true/,
  );
  fails(() => expectWireReady(answer(200, { ...ready, user_id: 'bob' }), expected), /"user_id" should be "alice"/);
  fails(() => expectWireReady(answer(200, { ...ready, teams: [] }), expected), /"teams" should be \["t1"\]/);
  // The key never reaches the failure message.
  fails(() => expectWireReady(answer(200, { ...ready, user_id: 'bob' }), expected), /^(?![\s\S]*sk-1)/);
});

test('whether an answer holds a key, and the key a poll hands out', () => {
  assert.equal(holdsKey({ key: null }), true);
  assert.equal(holdsKey({ status: 'pending' }), false);
  assert.equal(keyHandedOutBy(answer(200, { status: 'ready', key: 'sk-1' })), 'sk-1');
  assert.equal(keyHandedOutBy(answer(200, { status: 'pending', key: 'sk-1' })), undefined);
  assert.equal(keyHandedOutBy(answer(409, { status: 'ready', key: 'sk-1' })), undefined);
});
