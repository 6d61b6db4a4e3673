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
 * SDKs that are side files of the bundle: each is loaded with a dynamic `import()` at its first use, so it adds
 * nothing to the main bundle nor to module init (parsing included) — the Bedrock runtime by
 * functions/aws/bedrock-transport.ts on the first Bedrock call (a gateway without a bedrock provider never
 * loads it), Lambda by functions/aws/reconcile-invoker.ts on the admin API's first run-now. The Lambda build
 * resolves each import to `./<side file>` (an alias, kept external), and {@link sideFileCommand} bundles the
 * SDK into it. Outside the bundle (tsx, vitest) the import finds the package in node_modules as usual.
 */
export const BEDROCK_SDK = '@aws-sdk/client-bedrock-runtime';
export const BEDROCK_SIDE_FILE = 'bedrock-runtime.mjs';
export const LAMBDA_SDK = '@aws-sdk/client-lambda';
export const LAMBDA_SIDE_FILE = 'lambda-client.mjs';
/** SDK package → its side file's name. */
export const SIDE_SDKS: Readonly<Record<string, string>> = {
  [BEDROCK_SDK]: BEDROCK_SIDE_FILE,
  [LAMBDA_SDK]: LAMBDA_SIDE_FILE,
};
const SIDE_IMPORTS = Object.entries(SIDE_SDKS).map(([sdk, file]) => [sdk, `./${file}`] as const);

/**
 * Options for esbuild's `build()`: Node 22, ESM, minified, no source map (lib/switchyard-function.ts says why),
 * AWS SDK bundled (not the runtime's), the side SDKs' imports left to their side files.
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
  alias: Object.fromEntries(SIDE_IMPORTS),
  external: SIDE_IMPORTS.map(([, file]) => file),
};

/** The same aliases and externals for NodejsFunction, which runs the esbuild CLI (`--alias:<sdk>=<file>` each). */
export const NODEJS_FUNCTION_SIDE_IMPORTS = {
  externalModules: SIDE_IMPORTS.map(([, file]) => file),
  esbuildArgs: { '--alias': SIDE_IMPORTS.map(([sdk, file]) => `${sdk}=${file}`) },
} as const;

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The shell command that bundles a side SDK (a key of {@link SIDE_SDKS}) into `<outputDir>/<its side file>`
 * with the main bundle's settings (no source map: it is library code). Used by NodejsFunction's
 * `afterBundling` hook and by the tests that build the Lambda bundle.
 */
export function sideFileCommand(sdk: string, outputDir: string): string {
  const file = SIDE_SDKS[sdk];
  if (file === undefined) throw new Error(`${sdk} is not a side SDK of the bundle`);
  const args = [
    resolveModule('esbuild/bin/esbuild'),
    sdk,
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node22',
    '--minify',
    '--main-fields=module,main',
    `--banner:js=${ESM_REQUIRE_BANNER}`,
    '--log-level=warning',
    `--outfile=${join(outputDir, file)}`,
  ];
  return `cd ${shellQuote(PROJECT_ROOT)} && ${args.map(shellQuote).join(' ')}`;
}

/** {@link sideFileCommand} of the Bedrock runtime SDK. */
export const bedrockSideFileCommand = (outputDir: string): string => sideFileCommand(BEDROCK_SDK, outputDir);

/**
 * Files copied next to the bundle, by name: the tokenizer's o200k_base ranks (2.3 MB), read only when an
 * upstream reports no usage (functions/aws/token-counter.ts), so they stay out of the bundle itself.
 */
export const BUNDLE_SIDE_FILES: Readonly<Record<string, string>> = {
  'o200k_base.cjs': resolveModule('js-tiktoken/ranks/o200k_base'),
};

/**
 * NodejsFunction's `afterBundling` hook: copies {@link BUNDLE_SIDE_FILES} into the asset folder and bundles
 * each side SDK's file there.
 */
export function copySideFiles(outputDir: string): string[] {
  return [
    ...Object.entries(BUNDLE_SIDE_FILES).map(([name, from]) => `cp "${from}" "${outputDir}/${name}"`),
    ...Object.keys(SIDE_SDKS).map((sdk) => sideFileCommand(sdk, outputDir)),
  ];
}
