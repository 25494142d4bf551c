/**
 * A scenario that needs a configuration the target does not offer (a declared `--gateway-url`
 * gateway with other settings, no libfaketime, no Redis) is skipped with the reason, not failed:
 * every step is wrapped so that ConfigurationNotOffered turns into Cucumber's "skipped", and the
 * reason is attached to the scenario for the reports and the progress line.
 */
import { setDefinitionFunctionWrapper } from '@cucumber/cucumber';
import { ConfigurationNotOffered, SKIP_REASON_PREFIX } from './skip-reason.ts';
import type { ConformanceWorld } from './world.ts';

setDefinitionFunctionWrapper((fn: (...args: unknown[]) => unknown) => {
  const wrapped = async function (this: ConformanceWorld, ...args: unknown[]) {
    try {
      return await fn.apply(this, args);
    } catch (error) {
      if (!(error instanceof ConfigurationNotOffered)) throw error;
      this.attach(`${SKIP_REASON_PREFIX}${error.reason}`, 'text/plain');
      return 'skipped';
    }
  };
  // Cucumber tells callback-style steps from promise-style ones by their arity: keep it.
  Object.defineProperty(wrapped, 'length', { value: fn.length });
  return wrapped;
});
