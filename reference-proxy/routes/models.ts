/**
 * GET /models and GET /v1/models (docs/contract.md section 2): the OpenAI-style list of the models
 * the caller may use, from the config file's `model_list`. The master key sees every model; a CLI
 * key the models named in its `models` claim that are still configured.
 *
 * The route clients call most, so it is answered twice over: by express like every route, and
 * before express (`answerBeforeRouter`) for the common case, a `GET` whose key is good. Both write
 * the same bytes and headers; every other case (another method, another spelling of the path, a
 * refused key) goes on to express, which alone answers errors (http-errors.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import { type ApiCaller, authenticateApiCall } from '../api-auth.ts';
import type { CliKeyClaims } from '../key-issuer.ts';
import type { ProxyContext } from '../proxy-context.ts';

/** The Content-Type res.json() would send for the same value. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export interface ModelList {
  /** The express route, for GET /models and /v1/models in every spelling express routes there. */
  route: RequestHandler;
  /**
   * Answers a `GET` of exactly /models or /v1/models (a query allowed) whose caller is known, before
   * express's router; anything else, or a key that is refused, is handed to `next` with nothing
   * written, and express answers it as it would have. `answered` is called once an answer was sent
   * here (for the access log).
   */
  answerBeforeRouter(req: IncomingMessage, res: ServerResponse, next: () => void, answered: () => void): void;
}

export function modelList(ctx: ProxyContext, createdAtSeconds: number): ModelList {
  const answerFor = (allowed: ReadonlySet<string> | undefined): Buffer => {
    const seen = new Set<string>();
    const data = [];
    for (const model of ctx.config.modelsFile.models) {
      // LiteLLM lists one entry per model_name, however many deployments share it.
      if (seen.has(model.modelName) || (allowed && !allowed.has(model.modelName))) continue;
      seen.add(model.modelName);
      data.push({ id: model.modelName, object: 'model', created: createdAtSeconds, owned_by: model.ownedBy });
    }
    return Buffer.from(JSON.stringify({ object: 'list', data }), 'utf8');
  };
  // The answer depends on nothing but the configured models and the caller's `models` claim, neither
  // of which changes, so it is written once: for the master key, and for each CLI key's claims (keyed
  // by the claims object the key check hands back for that key, so an entry goes with the key).
  const masterAnswer = answerFor(undefined);
  const cliKeyAnswers = new WeakMap<CliKeyClaims, Buffer>();
  const bodyFor = (caller: ApiCaller): Buffer => {
    if (caller.kind === 'master') return masterAnswer;
    let answer = cliKeyAnswers.get(caller.claims);
    if (answer === undefined) {
      answer = answerFor(new Set(caller.claims.models));
      cliKeyAnswers.set(caller.claims, answer);
    }
    return answer;
  };

  // Not async: a key the gateway has verified before is answered in this turn (authenticateApiCall);
  // express hands a thrown error, or a rejected promise, to the error answer alike.
  const route: RequestHandler = (req, res) => {
    const answer = (caller: ApiCaller) => {
      res.setHeader('content-type', JSON_CONTENT_TYPE);
      res.send(bodyFor(caller));
    };
    const caller = authenticateApiCall(ctx, req);
    return caller instanceof Promise ? caller.then(answer) : answer(caller);
  };

  const answerBeforeRouter: ModelList['answerBeforeRouter'] = (req, res, next, answered) => {
    if (req.method !== 'GET' || !isModelListPath(req.url ?? '')) return next();
    const answer = (caller: ApiCaller) => {
      const body = bodyFor(caller);
      // The headers express's route sends: everyRequest's nosniff (app.ts), and res.send's.
      res.writeHead(200, {
        'x-content-type-options': 'nosniff',
        'content-type': JSON_CONTENT_TYPE,
        'content-length': body.length,
      });
      res.end(body);
      answered();
    };
    let caller: ApiCaller | Promise<ApiCaller>;
    try {
      caller = authenticateApiCall(ctx, req);
    } catch {
      // A refused key: express checks it again and answers the refusal, as for every other error.
      return next();
    }
    if (caller instanceof Promise) caller.then(answer, next);
    else answer(caller);
  };

  return { route, answerBeforeRouter };
}

/** Exactly /models or /v1/models, with or without a query; express routes the other spellings. */
function isModelListPath(url: string): boolean {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  return path === CLI_SSO_PATHS.v1Models || path === CLI_SSO_PATHS.models;
}
