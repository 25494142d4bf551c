/**
 * How long one piece of a scenario's clean-up may take. Clean-up is the harness's own business, not
 * part of any verdict, and Cucumber fails the scenario when its After hook passes 60 s: a piece
 * that hangs (seen twice under Node 24 in CI, after a consent page had redirected to a loopback
 * listener) is left behind, named on stderr, so that the rest still runs.
 */
export const CLEAN_UP_DEADLINE_MS = 15_000;

/** True when `work` settled (resolved or failed) within the deadline; false, and a line on stderr, when not. */
export async function withinDeadline(
  what: string,
  work: () => Promise<unknown>,
  deadlineMs = CLEAN_UP_DEADLINE_MS,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), deadlineMs);
  });
  const settled = work().then(
    () => true as const,
    () => true as const,
  );
  const done = await Promise.race([settled, late]);
  clearTimeout(timer);
  if (!done) console.error(`scenario clean-up: ${what} did not finish within ${deadlineMs / 1000} s; left behind`);
  return done;
}
