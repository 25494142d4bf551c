/**
 * GET /models and GET /v1/models (docs/contract.md section 2): the OpenAI-style list of the models
 * the caller may use, from the config file's `model_list`. The master key sees every model; a CLI
 * key the models named in its `models` claim that are still configured.
 */
import type { RequestHandler } from 'express';
import { authenticateApiCall } from '../api-auth.ts';
import type { ProxyContext } from '../proxy-context.ts';

export function listModels(ctx: ProxyContext, createdAtSeconds: number): RequestHandler {
  return async (req, res) => {
    const caller = await authenticateApiCall(ctx, req);
    const allowed = caller.kind === 'master' ? undefined : new Set(caller.claims.models);
    const seen = new Set<string>();
    const data = [];
    for (const model of ctx.config.modelsFile.models) {
      // LiteLLM lists one entry per model_name, however many deployments share it.
      if (seen.has(model.modelName) || (allowed && !allowed.has(model.modelName))) continue;
      seen.add(model.modelName);
      data.push({ id: model.modelName, object: 'model', created: createdAtSeconds, owned_by: model.ownedBy });
    }
    res.json({ object: 'list', data });
  };
}
