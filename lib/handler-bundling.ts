/**
 * How the Lambda handlers are bundled: one definition for the CDK `NodejsFunction` (local esbuild, no Docker)
 * and for the harness test that builds and invokes the real bundle.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

const resolveModule = createRequire(import.meta.url).resolve;
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export const GATEWAY_HANDLER_ENTRY = fileURLToPath(
  new URL('../functions/aws/gateway-handler.ts', import.meta.url),
);

export const RECONCILER_HANDLER_ENTRY = fileURLToPath(
  new URL('../functions/aws/reconciler-handler.ts', import.meta.url),
);

export const LEDGER_FOLD_HANDLER_ENTRY = fileURLToPath(
  new URL('../functions/aws/ledger-fold-handler.ts', import.meta.url),
);

/** ESM needs `require` for the CommonJS dependencies esbuild inlines. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __sy_createRequire } from 'node:module'; const require = __sy_createRequire(import.meta.url);";

/**
 * The Bedrock runtime SDK is a side file of the bundle: functions/aws/bedrock-transport.ts loads it with a
 * dynamic `import()` on the first Bedrock call, so it adds nothing to the main bundle nor to module init (a
 * gateway without a bedrock provider never loads it). The Lambda build resolves that import to
 * `./bedrock-runtime.mjs` (an alias, kept external), and {@link bedrockSideFileCommand} bundles the SDK
 * into it. Outside the bundle (tsx, vitest) the import finds the package in node_modules as usual.
 */
export const BEDROCK_SDK = '@aws-sdk/client-bedrock-runtime';
export const BEDROCK_SIDE_FILE = 'bedrock-runtime.mjs';
const BEDROCK_SIDE_IMPORT = `./${BEDROCK_SIDE_FILE}`;

/**
 * Options for esbuild's `build()`: Node 22, ESM, minified, no source map (lib/switchyard-function.ts says why),
 * AWS SDK bundled (not the runtime's), the Bedrock SDK import left to its side file.
 */
export const esbuildOptions: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: false,
  banner: { js: ESM_REQUIRE_BANNER },
  mainFields: ['module', 'main'],
  logLevel: 'warning',
  alias: { [BEDROCK_SDK]: BEDROCK_SIDE_IMPORT },
  external: [BEDROCK_SIDE_IMPORT],
};

/** The same alias and external for NodejsFunction, which runs the esbuild CLI. */
export const NODEJS_FUNCTION_SIDE_IMPORTS = {
  externalModules: [BEDROCK_SIDE_IMPORT],
  esbuildArgs: { '--alias': `${BEDROCK_SDK}=${BEDROCK_SIDE_IMPORT}` },
} as const;

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The shell command that bundles {@link BEDROCK_SDK} into `<outputDir>/bedrock-runtime.mjs` with the main
 * bundle's settings (no source map: it is library code). Used by NodejsFunction's `afterBundling` hook and
 * by the tests that build the Lambda bundle.
 */
export function bedrockSideFileCommand(outputDir: string): string {
  const args = [
    resolveModule('esbuild/bin/esbuild'),
    BEDROCK_SDK,
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node22',
    '--minify',
    '--main-fields=module,main',
    `--banner:js=${ESM_REQUIRE_BANNER}`,
    '--log-level=warning',
    `--outfile=${join(outputDir, BEDROCK_SIDE_FILE)}`,
  ];
  return `cd ${shellQuote(PROJECT_ROOT)} && ${args.map(shellQuote).join(' ')}`;
}

/**
 * Files copied next to the bundle, by name: the tokenizer's o200k_base ranks (2.3 MB), read only when an
 * upstream reports no usage (functions/aws/token-counter.ts), so they stay out of the bundle itself.
 */
export const BUNDLE_SIDE_FILES: Readonly<Record<string, string>> = {
  'o200k_base.cjs': resolveModule('js-tiktoken/ranks/o200k_base'),
};

/**
 * NodejsFunction's `afterBundling` hook: copies {@link BUNDLE_SIDE_FILES} into the asset folder and bundles
 * the Bedrock SDK's side file there.
 */
export function copySideFiles(outputDir: string): string[] {
  return [
    ...Object.entries(BUNDLE_SIDE_FILES).map(([name, from]) => `cp "${from}" "${outputDir}/${name}"`),
    bedrockSideFileCommand(outputDir),
  ];
}
