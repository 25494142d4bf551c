/**
 * Reading what a gateway answered, as docs/contract.md section 2 shapes it: the error bodies of the
 * CLI SSO endpoints and of the API routes, and the model list of GET /models and GET /v1/models.
 */
import assert from 'node:assert/strict';
import type { HttpAnswer } from '../drivers/gateway-http.ts';

/**
 * A CLI SSO endpoint's error body (docs/contract.md section 2, "Error bodies"): FastAPI's
 * `{"detail": "<message>"}` with a non-empty string; undefined when the body is anything else.
 */
export function detailMessageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('detail' in body)) return undefined;
  const { detail } = body;
  return typeof detail === 'string' && detail.trim().length > 0 ? detail : undefined;
}

/** The `error` object of an API route's error body (docs/contract.md section 2, GET /models). */
export interface ApiError {
  message: string;
  type: string;
  code: unknown;
}

/**
 * An API route's error body, LiteLLM's `{"error": {"message", "type", "param", "code"}}`: `error`
 * an object with a non-empty string `message` and a string `type`. Fails naming what came back.
 */
export function expectApiError(answer: HttpAnswer, where: string): ApiError {
  const body = answer.json;
  const shown = answer.text.slice(0, 300);
  assert.ok(
    typeof body === 'object' && body !== null && !Array.isArray(body) && 'error' in body,
    `the ${answer.status} answer of ${where} is not an {"error": {...}} body: ${shown}`,
  );
  const { error } = body;
  assert.ok(
    typeof error === 'object' && error !== null && !Array.isArray(error),
    `the ${answer.status} answer of ${where} has an "error" that is not an object: ${shown}`,
  );
  const { message, type, code } = error as Record<string, unknown>;
  assert.ok(
    typeof message === 'string' && message.trim().length > 0,
    `the ${answer.status} answer of ${where} has no string error.message: ${shown}`,
  );
  assert.ok(
    typeof type === 'string' && type.length > 0,
    `the ${answer.status} answer of ${where} has no string error.type: ${shown}`,
  );
  // LiteLLM's error bodies repeat the status as error.code ("401", or 401); a body that carries a
  // code must not contradict the status it came with.
  assert.ok(
    code === undefined || code === null || String(code) === String(answer.status),
    `the ${answer.status} answer of ${where} says error.code ${JSON.stringify(code)}: ${shown}`,
  );
  return { message, type, code };
}

/**
 * The model list (docs/contract.md section 2, GET /models): `{"object": "list", "data": [...]}`,
 * each entry with a string `id`, `object` "model", a numeric `created` and a string `owned_by`; the
 * names must all be listed. Returns the listed ids.
 */
export function expectModelList(answer: HttpAnswer, where: string, names: string): string[] {
  assert.equal(answer.status, 200, `${where} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const body = answer.json;
  assert.ok(
    typeof body === 'object' && body !== null && !Array.isArray(body),
    `${where} did not answer a JSON object: ${answer.text.slice(0, 300)}`,
  );
  const { object, data } = body as Record<string, unknown>;
  assert.equal(object, 'list', `${where} answered "object": ${JSON.stringify(object)}, expected "list"`);
  assert.ok(Array.isArray(data), `${where} answered "data": ${JSON.stringify(data)?.slice(0, 100)}, expected a list`);
  const ids = data.map((entry: unknown, index) => {
    const shown = JSON.stringify(entry)?.slice(0, 200);
    assert.ok(typeof entry === 'object' && entry !== null, `${where}: data[${index}] is not an object: ${shown}`);
    const { id, object: kind, created, owned_by } = entry as Record<string, unknown>;
    assert.ok(typeof id === 'string' && id.length > 0, `${where}: data[${index}] has no string "id": ${shown}`);
    assert.equal(kind, 'model', `${where}: data[${index}] has "object" ${JSON.stringify(kind)}, expected "model"`);
    assert.ok(
      typeof created === 'number' && Number.isFinite(created),
      `${where}: data[${index}] has "created" ${JSON.stringify(created)}, expected a number`,
    );
    assert.ok(
      typeof owned_by === 'string',
      `${where}: data[${index}] has "owned_by" ${JSON.stringify(owned_by)}, expected a string`,
    );
    return id;
  });
  for (const name of names.split(',').map((n) => n.trim()))
    assert.ok(ids.includes(name), `${where} does not list ${name}; it lists ${ids.join(', ') || 'nothing'}`);
  return ids;
}
