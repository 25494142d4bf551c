/**
 * The models file: LiteLLM's config.yaml shape (`model_list` entries with `model_name`), read with
 * `--config FILE` or CONFIG_FILE_PATH. Other LiteLLM sections are allowed and ignored.
 *
 * Reference extension: a top-level `teams` list gives team aliases (for `team_details` in the poll
 * answer) and, optionally, the models a team's keys may use:
 *
 *   model_list:
 *     - model_name: gpt-4o
 *       litellm_params: { model: openai/gpt-4o }
 *   teams:
 *     - team_id: team-a
 *       team_alias: Team A
 *       models: [gpt-4o]
 *
 * From LiteLLM's `general_settings`, only `allow_cli_sso_verification_uri_complete` (a boolean) is
 * read: it offers `verification_uri_complete` in the start answer (docs/contract.md section 10.8).
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** A model the gateway lists at `/models`. */
export interface ModelEntry {
  /** `model_name`: the id clients ask for. */
  modelName: string;
  /** Provider prefix of `litellm_params.model` (`openai/gpt-4o` -> `openai`), shown as `owned_by`. */
  ownedBy: string;
}

/** A team of the config file's `teams` list (a reference extension). */
export interface TeamEntry {
  /** The team id, as the IdP's teams claim names it. */
  teamId: string;
  /** Its alias in the poll answer's `team_details`. */
  teamAlias: string | null;
  /** Models this team's keys may use; undefined = every model. */
  models: string[] | undefined;
}

/** What the gateway read from a LiteLLM `config.yaml` (`model_list`, and our `teams`). */
export interface ModelsFile {
  /** The models, in file order. */
  models: ModelEntry[];
  /** The teams. */
  teams: TeamEntry[];
  /** `general_settings.allow_cli_sso_verification_uri_complete`, when the file sets it. */
  allowVerificationUriComplete?: boolean | undefined;
}

const fileSchema = z.object({
  model_list: z
    .array(
      z.object({
        model_name: z.string().trim().min(1, 'must be a non-empty string'),
        litellm_params: z.object({ model: z.string().optional() }).passthrough().optional(),
      }),
    )
    .optional(),
  teams: z
    .array(
      z.object({
        team_id: z.string().trim().min(1, 'must be a non-empty string'),
        team_alias: z.string().nullable().optional(),
        models: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  general_settings: z
    .object({ allow_cli_sso_verification_uri_complete: z.boolean('must be true or false').optional() })
    .passthrough()
    .nullable()
    .optional(),
});

export function parseModelsFile(text: string): ModelsFile | { problems: string[] } {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    return {
      problems: [`is not valid YAML (${error instanceof Error ? error.message.split('\n')[0] : 'parse error'})`],
    };
  }
  const result = fileSchema.safeParse(document ?? {});
  if (!result.success) {
    return {
      problems: result.error.issues.map((issue) => `field "${issue.path.join('.') || '(document)'}" ${issue.message}`),
    };
  }
  const models = (result.data.model_list ?? []).map((entry) => ({
    modelName: entry.model_name,
    ownedBy: providerOf(entry.litellm_params?.model),
  }));
  const teams = (result.data.teams ?? []).map((team) => ({
    teamId: team.team_id,
    // mutation-equivalent: a team's alias from the reference's own models file, a format the contract
    // does not define, so no scenario can configure it on another gateway
    teamAlias: team.team_alias ?? null,
    models: team.models,
  }));
  const allow = result.data.general_settings?.allow_cli_sso_verification_uri_complete;
  return allow === undefined ? { models, teams } : { models, teams, allowVerificationUriComplete: allow };
}

function providerOf(model: string | undefined): string {
  const slash = model?.indexOf('/') ?? -1;
  return model && slash > 0 ? model.slice(0, slash) : 'litellm';
}
