// Types of command-bundle.mjs, for scripts/build.ts and the tests (bin/ holds plain JavaScript, run without tsx).
import type { BuildOptions } from 'esbuild';

export declare const BUNDLED_COMMANDS: Readonly<Record<'cli/main', { besides: Array<{ pkg: string; file: string }> }>>;
export type BundledCommand = keyof typeof BUNDLED_COMMANDS;
export declare function bundleOptions(root: string, entry: BundledCommand): BuildOptions;
export declare function bundleCommand(
  root: string,
  entry: BundledCommand,
): Promise<{ code: Uint8Array; fileName: string; inputs: string[]; besides: Array<{ from: string; name: string }> }>;
export declare function copyExecutable(from: string, to: string): void;
export declare function checkoutBundle(
  root: string,
  entry: BundledCommand,
  options?: { settleMs?: number },
): Promise<URL | undefined>;
