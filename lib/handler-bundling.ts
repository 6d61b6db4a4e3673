/**
 * How the Lambda handlers are bundled: one definition for the CDK `NodejsFunction` (local esbuild, no Docker)
 * and for the harness test that builds and invokes the real bundle.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

export const GATEWAY_HANDLER_ENTRY = fileURLToPath(
  new URL('../functions/aws/gateway-handler.ts', import.meta.url),
);

export const RECONCILER_HANDLER_ENTRY = fileURLToPath(
  new URL('../functions/aws/reconciler-handler.ts', import.meta.url),
);

/** ESM needs `require` for the CommonJS dependencies esbuild inlines. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __sy_createRequire } from 'node:module'; const require = __sy_createRequire(import.meta.url);";

/** Options for esbuild's `build()`: Node 22, ESM, minified, source maps, AWS SDK bundled (not the runtime's). */
export const esbuildOptions: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: true,
  banner: { js: ESM_REQUIRE_BANNER },
  mainFields: ['module', 'main'],
  logLevel: 'warning',
};

/**
 * Files copied next to the bundle, by name: the tokenizer's o200k_base ranks (2.3 MB), read only when an
 * upstream reports no usage (functions/aws/token-counter.ts), so they stay out of the bundle itself.
 */
export const BUNDLE_SIDE_FILES: Readonly<Record<string, string>> = {
  'o200k_base.cjs': createRequire(import.meta.url).resolve('js-tiktoken/ranks/o200k_base'),
};

/** NodejsFunction's `afterBundling` hook: copies {@link BUNDLE_SIDE_FILES} into the asset folder. */
export function copySideFiles(outputDir: string): string[] {
  return Object.entries(BUNDLE_SIDE_FILES).map(([name, from]) => `cp "${from}" "${outputDir}/${name}"`);
}
