/**
 * `cli-sso models list [--format table|json]`: GET {base}/models with the key (docs/contract.md
 * section 8). The list goes to stdout; a refused or expired key gets a sentence, not a stack trace.
 */
import { type CommandContext, say } from '../command-context.ts';
import { EXIT_CODES } from '../exit-codes.ts';
import { GatewayClient, isTransient, type Model } from '../gateway-client.ts';
import { withRetries } from '../retry.ts';
import { credentialsFor, explainKeyRefusal, isKeyRefusal } from '../stored-login.ts';
import { shown } from '../terminal-safe.ts';

export type ModelsFormat = 'table' | 'json';
export const MODELS_FORMATS: readonly ModelsFormat[] = ['table', 'json'];

export interface ModelsListOptions {
  format: ModelsFormat;
  timeoutSeconds: number;
}

export async function listModels(ctx: CommandContext, options: ModelsListOptions): Promise<number> {
  const credentials = await credentialsFor(ctx);
  const client = new GatewayClient({ baseUrl: credentials.baseUrl });
  const deadlineMs = ctx.clock.nowMs() + options.timeoutSeconds * 1000;
  let models: Model[];
  try {
    models = await withRetries(
      () =>
        client.listModels({
          key: credentials.key,
          authHeaderName: credentials.authHeaderName,
          signal: ctx.signal,
          timeoutMs: Math.max(1, deadlineMs - ctx.clock.nowMs()),
        }),
      {
        firstDelayMs: ctx.settings.retryDelayMs,
        isRetryable: isTransient,
        signal: ctx.signal,
        clock: ctx.clock,
        deadlineMs,
        onRetry: (error, attempt, delayMs) =>
          say(
            ctx,
            `${error instanceof Error ? error.message : 'request failed'}; trying again in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt}).`,
          ),
      },
    );
  } catch (error) {
    throw isKeyRefusal(error) ? explainKeyRefusal(ctx, error, credentials) : error;
  }
  if (options.format === 'json') {
    const wire = models.map((m) => ({ id: m.id, object: m.object, created: m.created, owned_by: m.ownedBy }));
    ctx.stdout.write(`${JSON.stringify(wire, null, 2)}\n`);
    return EXIT_CODES.ok;
  }
  if (models.length === 0) {
    say(ctx, `The gateway at ${credentials.baseUrl} lists no models for this key.`);
    return EXIT_CODES.ok;
  }
  ctx.stdout.write(renderTable(['ID', 'OWNED BY', 'CREATED'], models.map(modelRow)));
  return EXIT_CODES.ok;
}

/** Model ids and owners come from the gateway (CLISSO-CLI-23). */
function modelRow(model: Model): string[] {
  const date = model.created === null ? undefined : new Date(model.created * 1000);
  // A gateway may send any number; one past the year 275760 is no date at all.
  const created = date === undefined || Number.isNaN(date.getTime()) ? '-' : date.toISOString().slice(0, 10);
  return [shown(model.id), model.ownedBy === null ? '-' : shown(model.ownedBy), created];
}

export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
