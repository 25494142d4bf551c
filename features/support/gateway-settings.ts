/**
 * The gateway settings one scenario adds to and removes from the harness defaults (docs/contract.md
 * section 3). A gateway reads its settings once, when it starts: a step that changes one after the
 * scenario's gateway has started would change nothing while the scenario reads as if it had, so the
 * change is refused with an error naming the setting.
 */

/** A gateway setting changed after the scenario's gateway had started. */
export class GatewaySettingTooLate extends Error {
  constructor(
    readonly setting: string,
    startedAt: string,
  ) {
    super(
      `the gateway setting ${setting} cannot change: this scenario's gateway has already started (${startedAt}) ` +
        'and reads its settings only at start; put the step that sets it before the first step that uses the gateway',
    );
    this.name = 'GatewaySettingTooLate';
  }
}

export class GatewaySettings {
  #startedAt: string | undefined;
  readonly #overrides: Record<string, string> = {};

  /** Settings this scenario adds to (or changes in) the harness defaults; written like a record. */
  readonly overrides: Record<string, string> = new Proxy(this.#overrides, {
    set: (target, name, value) => {
      this.refuseAfterStart(String(name));
      return Reflect.set(target, name, String(value));
    },
    deleteProperty: (target, name) => {
      this.refuseAfterStart(String(name));
      return Reflect.deleteProperty(target, name);
    },
    defineProperty: (target, name, descriptor) => {
      this.refuseAfterStart(String(name));
      return Reflect.defineProperty(target, name, descriptor);
    },
  });

  /** Settings this scenario removes from the harness defaults; written like a set. */
  readonly unset: Set<string> = new GuardedSet((name) => this.refuseAfterStart(name));

  /** The gateway has started with these settings (`where`: its URL, for the error); changes are refused from now on. */
  markStarted(where: string): void {
    this.#startedAt ??= where;
  }

  get started(): boolean {
    return this.#startedAt !== undefined;
  }

  /** Check for a change to a CLI-side setting the harness reads once, at the same moment. */
  refuseAfterStart(setting: string): void {
    if (this.#startedAt !== undefined) throw new GatewaySettingTooLate(setting, this.#startedAt);
  }

  /** `defaults` with this scenario's additions, then its removals. */
  applyTo(defaults: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = { ...defaults, ...this.#overrides, ...extra };
    for (const name of this.unset) delete env[name];
    return env;
  }
}

/** A Set whose add, delete and clear ask `guard` first (the guard throws to refuse). */
class GuardedSet extends Set<string> {
  constructor(private readonly guard: (name: string) => void) {
    super();
  }
  override add(name: string): this {
    this.guard(name);
    return super.add(name);
  }
  override delete(name: string): boolean {
    this.guard(name);
    return super.delete(name);
  }
  override clear(): void {
    for (const name of this) this.guard(name);
    super.clear();
  }
}
