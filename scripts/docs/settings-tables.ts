/**
 * The READMEs' settings tables, generated from each component's settings table (common/settings.ts):
 * `npm run docs:settings` rewrites them; settings-tables.test.ts fails when a README has drifted.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_SETTINGS } from '../../cli/index.ts';
import { type SettingsTable, settingsMarkdown, withSettingsTable } from '../../common/settings.ts';
import { MOCK_IDP_SETTINGS } from '../../mock-idp/index.ts';
import { PROXY_SETTINGS } from '../../reference-proxy/index.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Each README and the table it shows. */
export const SETTINGS_DOCS: ReadonlyArray<{ file: string; table: SettingsTable }> = [
  { file: 'reference-proxy/README.md', table: PROXY_SETTINGS },
  { file: 'mock-idp/README.md', table: MOCK_IDP_SETTINGS },
  { file: 'cli/README.md', table: CLI_SETTINGS },
];

/** The README as it should be: its text with the generated table between the markers. */
export async function expectedReadme(file: string, table: SettingsTable): Promise<{ now: string; expected: string }> {
  const now = await readFile(join(ROOT, file), 'utf8');
  return { now, expected: withSettingsTable(now, settingsMarkdown(table), file) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const { file, table } of SETTINGS_DOCS) {
    const { now, expected } = await expectedReadme(file, table);
    if (now === expected) process.stdout.write(`${file}: up to date\n`);
    else {
      await writeFile(join(ROOT, file), expected);
      process.stdout.write(`${file}: settings table rewritten\n`);
    }
  }
}
