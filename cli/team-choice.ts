/**
 * A user in several teams must pick one before the key is issued (protocol section 2, poll step 4):
 * a menu when a person is at a terminal; otherwise a numbered list and one line read from standard
 * input (the team's number or its id), as a script or a test harness answers a prompt; with nothing
 * to read either, a clear error that lists the teams and names `--team <id>`.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { TeamDetail } from '../protocol/cli-sso.ts';
import { CliError } from './exit-codes.ts';
import { shown } from './terminal-safe.ts';

export interface TeamChoiceOptions {
  teams: string[];
  teamDetails: TeamDetail[];
  interactive: boolean;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  signal: AbortSignal;
}

/** Every team once, with its alias when the gateway sent one. */
export function listTeams(teams: string[], teamDetails: TeamDetail[]): TeamDetail[] {
  const byId = new Map<string, TeamDetail>();
  for (const detail of teamDetails) byId.set(detail.teamId, detail);
  for (const teamId of teams) if (!byId.has(teamId)) byId.set(teamId, { teamId, teamAlias: null });
  return [...byId.values()];
}

/** A team as shown to the person; both parts come from the gateway (CLISSO-CLI-23). */
export function describeTeam(team: TeamDetail): string {
  return team.teamAlias && team.teamAlias !== team.teamId
    ? `${shown(team.teamId)} (${shown(team.teamAlias)})`
    : shown(team.teamId);
}

export async function chooseTeam(options: TeamChoiceOptions): Promise<string> {
  const teams = listTeams(options.teams, options.teamDetails);
  if (teams.length === 0) {
    throw new CliError('gatewayError', 'the gateway asked to choose a team but listed no teams');
  }
  if (!options.interactive) {
    const chosen = await teamFromInputLine(teams, options);
    if (chosen !== undefined) return chosen;
    throw new CliError(
      'teamRequired',
      `you belong to ${teams.length} teams and the gateway needs to know which one this login is for`,
      `Run \`cli-sso login --team <id>\` with one of:\n${teams.map((t) => `  ${describeTeam(t)}`).join('\n')}`,
    );
  }
  const { default: select } = await import('@inquirer/select');
  return select(
    {
      message: 'You belong to several teams. Which one is this login for?',
      choices: teams.map((t) => ({ name: describeTeam(t), value: t.teamId })),
    },
    { input: options.input, output: keepOpen(options.output), signal: options.signal },
  );
}

/**
 * Print the teams numbered from 1, then read lines until one names a team (its number or its id).
 * Undefined when the input ends first.
 */
async function teamFromInputLine(teams: TeamDetail[], options: TeamChoiceOptions): Promise<string | undefined> {
  options.output.write(
    `You belong to several teams. Which one is this login for?\n${teams
      .map((t, i) => `  ${i + 1}. ${describeTeam(t)}`)
      .join('\n')}\nTeam (number or id): `,
  );
  const lines = createInterface({ input: options.input, crlfDelay: Number.POSITIVE_INFINITY });
  const abort = () => lines.close();
  options.signal.addEventListener('abort', abort, { once: true });
  try {
    for await (const line of lines) {
      const answer = line.trim();
      const byNumber = /^[0-9]+$/.test(answer) ? teams[Number(answer) - 1] : undefined;
      const chosen = byNumber ?? teams.find((t) => t.teamId === answer);
      if (chosen) return chosen.teamId;
      options.output.write(`"${shown(answer.slice(0, 80))}" is not one of the teams above. Team (number or id): `);
    }
    return undefined;
  } finally {
    options.signal.removeEventListener('abort', abort);
    lines.close();
  }
}

/** Inquirer ends the stream it was given when the prompt closes; stderr must stay usable after it. */
function keepOpen(output: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      output.write(chunk);
      done();
    },
  });
}
