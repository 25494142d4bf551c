/**
 * Ports for the servers a run starts, never the same one twice in a run. The operating system hands
 * out a free port (listening on port 0), but the probe closes before the server binds it, and a
 * worker asking at about the same moment can be handed the same one. Two gateways were then
 * started on one port: one exited (EADDRINUSE) and the other answered the first one's readiness
 * check, so a scenario of one worker talked to another worker's gateway (seen once in a loaded run:
 * a replica with a Redis store judged through a gateway with a memory store and a moved clock). A
 * port given out is claimed with a file of that name in the run's folder, created only if absent,
 * which every worker of the run sees.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../common/http-server.ts';

/**
 * A free port no other server of this run was given (`runDir`: the run's scratch folder). `offer`
 * is where free ports come from (the operating system; a test gives its own).
 */
export async function claimFreePort(runDir: string, offer: () => Promise<number> = freePort): Promise<number> {
  const claims = join(runDir, 'ports');
  await mkdir(claims, { recursive: true });
  for (;;) {
    const port = await offer();
    try {
      await writeFile(join(claims, String(port)), '', { flag: 'wx' });
      return port;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
