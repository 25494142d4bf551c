/**
 * The embedded default targets (reference proxy and reference CLI) are bundled once per run with
 * esbuild, so each gateway start and each CLI run is a plain `node file.js`: about a second less
 * than going through tsx every time, which a suite that starts dozens of processes feels.
 * Packages stay external (resolved from the project's node_modules); only our TypeScript is bundled.
 * The bundle goes under the project (.tmp/build) so that resolution works wherever reports go.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

export interface EmbeddedBuild {
  referenceProxy: string;
  cli: string;
}

export async function buildEmbeddedTargets(rootDir: string): Promise<EmbeddedBuild> {
  const outdir = join(rootDir, '.tmp', 'build');
  await build({
    entryPoints: { 'reference-proxy': join(rootDir, 'reference-proxy/main.ts'), cli: join(rootDir, 'cli/main.ts') },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir,
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return { referenceProxy: join(outdir, 'reference-proxy.js'), cli: join(outdir, 'cli.js') };
}
