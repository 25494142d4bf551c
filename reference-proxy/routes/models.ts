/**
 * GET /models and GET /v1/models (docs/contract.md section 2): the OpenAI-style list of the models
 * the caller may use, from the config file's `model_list`. The master key sees every model; a CLI
 * key the models named in its `models` claim that are still configured.
 */
import type { RequestHandler, Response } from 'express';
import { type ApiCaller, authenticateApiCall } from '../api-auth.ts';
import type { CliKeyClaims } from '../key-issuer.ts';
import type { ProxyContext } from '../proxy-context.ts';

export function listModels(ctx: ProxyContext, createdAtSeconds: number): RequestHandler {
  const answerFor = (allowed: ReadonlySet<string> | undefined): string => {
    const seen = new Set<string>();
    const data = [];
    for (const model of ctx.config.modelsFile.models) {
      // LiteLLM lists one entry per model_name, however many deployments share it.
      if (seen.has(model.modelName) || (allowed && !allowed.has(model.modelName))) continue;
      seen.add(model.modelName);
      data.push({ id: model.modelName, object: 'model', created: createdAtSeconds, owned_by: model.ownedBy });
    }
    return JSON.stringify({ object: 'list', data });
  };
  // The answer depends on nothing but the configured models and the caller's `models` claim, neither
  // of which changes, so it is written once: for the master key, and for each CLI key's claims (keyed
  // by the claims object the key check hands back for that key, so an entry goes with the key).
  const masterAnswer = answerFor(undefined);
  const cliKeyAnswers = new WeakMap<CliKeyClaims, string>();
  const cliKeyAnswer = (claims: CliKeyClaims): string => {
    let answer = cliKeyAnswers.get(claims);
    if (answer === undefined) {
      answer = answerFor(new Set(claims.models));
      cliKeyAnswers.set(claims, answer);
    }
    return answer;
  };
  const answer = (res: Response, caller: ApiCaller): void => {
    // The Content-Type res.json() would send for the same value.
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.send(caller.kind === 'master' ? masterAnswer : cliKeyAnswer(caller.claims));
  };
  // Not async: a key the gateway has verified before is answered in this turn (authenticateApiCall);
  // express hands a thrown error, or a rejected promise, to the error answer alike.
  return (req, res) => {
    const caller = authenticateApiCall(ctx, req);
    return caller instanceof Promise ? caller.then((known) => answer(res, known)) : answer(res, caller);
  };
}
