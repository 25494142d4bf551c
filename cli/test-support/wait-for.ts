/** Poll a condition with a deadline instead of sleeping (architecture.md, convention 10). */
import { setImmediate as nextTurn } from 'node:timers/promises';

export async function waitFor(condition: () => boolean, timeoutMs = 60_000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await nextTurn();
  }
}
