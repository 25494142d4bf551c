// Types of command-bundle.mjs, for scripts/build.ts and the tests (bin/ holds plain JavaScript, run without tsx).
import type { BuildOptions } from 'esbuild';

export declare const BUNDLED_COMMANDS: Readonly<Record<'cli/main', { external: string[] }>>;
export type BundledCommand = keyof typeof BUNDLED_COMMANDS;
export declare function bundleOptions(root: string, entry: BundledCommand): BuildOptions;
export declare function bundleFileName(name: string, code: Uint8Array): string;
export declare function checkoutBundle(
  root: string,
  entry: BundledCommand,
  options?: { settleMs?: number },
): Promise<URL | undefined>;
