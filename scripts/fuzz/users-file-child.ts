/**
 * The users file loader, run in a child process of the fuzzer: some inputs kill the process that
 * parses them (a fatal V8 error no try/catch sees), and the fuzzer must live on to report it.
 * Each message is one input; each reply says what the loader did.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadUsersFile, parseUsersFile, UsersFileError } from '../../mock-idp/index.ts';

export interface ParseRequest {
  id: number;
  text: string;
  fileName: string;
  via: 'parse' | 'file' | 'missing' | 'directory';
}

export type ParseReply = { id: number; polluted: string[] } & (
  | { kind: 'loaded' }
  | { kind: 'UsersFileError'; message: string; problems: number }
  | { kind: 'threw'; name: string; message: string }
);

async function load(request: ParseRequest): Promise<void> {
  if (request.via === 'parse') {
    parseUsersFile(request.text, request.fileName);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'fuzz-users-'));
  try {
    const file = join(dir, request.fileName);
    if (request.via === 'file') await writeFile(file, request.text);
    await loadUsersFile(request.via === 'directory' ? dir : file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

process.on('message', async (request: ParseRequest) => {
  let reply: ParseReply;
  try {
    await load(request);
    reply = { id: request.id, polluted: [], kind: 'loaded' };
  } catch (error) {
    if (error instanceof UsersFileError) {
      reply = {
        id: request.id,
        polluted: [],
        kind: 'UsersFileError',
        message: error.message,
        problems: error.problems.length,
      };
    } else {
      const e = error instanceof Error ? error : new Error(String(error));
      reply = { id: request.id, polluted: [], kind: 'threw', name: e.name, message: e.message.slice(0, 500) };
    }
  }
  const proto = Object.prototype as Record<string, unknown>;
  reply.polluted = Object.keys(Object.prototype);
  if (({} as Record<string, unknown>)['polluted'] !== undefined && !reply.polluted.includes('polluted')) {
    reply.polluted.push('polluted');
  }
  for (const key of reply.polluted) delete proto[key];
  process.send?.(reply);
});
process.send?.({ ready: true });
