/**
 * How many times a broken gateway's fault changed something during a suite run: the `fault_fired`
 * lines each relay wrote to its log, which the harness keeps as `<reports>/work/gateway-*\/gateway.log`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FAULT_FIRED_EVENT } from './fault.ts';

export async function countFaultFirings(workDir: string): Promise<number> {
  let count = 0;
  for (const log of await gatewayLogs(workDir)) {
    const text = await readFile(log, 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (isFaultFired(line)) count += 1;
  }
  return count;
}

function isFaultFired(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && 'event' in parsed && parsed.event === FAULT_FIRED_EVENT;
  } catch {
    return false;
  }
}

async function gatewayLogs(workDir: string): Promise<string[]> {
  const entries = await readdir(workDir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && e.name.startsWith('gateway-'))
    .map((e) => join(workDir, e.name, 'gateway.log'));
}
