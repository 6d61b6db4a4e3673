/**
 * `npm run bench:bundle`: the gateway Lambda's bundle as `NodejsFunction` builds it (lib/handler-bundling.ts)
 * — its size, and its module init time in a fresh Node process with the Lambda runtime's `awslambda` global
 * stubbed (median of 7 cold imports). Targets from the AWS issue: ≤ 1.5 MB, init ≤ 150 ms.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { esbuildOptions, GATEWAY_HANDLER_ENTRY } from '../../lib/handler-bundling.ts';

export interface BundleReport {
  readonly bytes: number;
  readonly initMs: number;
}

const PROBE = `
globalThis.awslambda = { streamifyResponse: (fn) => fn, HttpResponseStream: { from: (s) => s } };
const t = performance.now();
await import(process.argv[2]);
process.stdout.write(String(performance.now() - t));
`;

export async function measureBundle(): Promise<BundleReport> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bundle-'));
  try {
    const outfile = join(dir, 'index.mjs');
    await build({ ...esbuildOptions, entryPoints: [GATEWAY_HANDLER_ENTRY], outfile, logLevel: 'error' });
    writeFileSync(join(dir, 'probe.mjs'), PROBE);
    const env = {
      ...process.env,
      SWITCHYARD_CONFIG_TABLE: 'bench',
      SWITCHYARD_KEYS_TABLE: 'bench-keys',
      SWITCHYARD_USAGE_TABLE: 'bench-usage',
      SWITCHYARD_SECRET_ID: 'bench',
      AWS_REGION: 'us-east-1',
    };
    const samples = Array.from({ length: 7 }, () =>
      Number(execFileSync(process.execPath, [join(dir, 'probe.mjs'), outfile], { env, encoding: 'utf8' })),
    ).sort((a, b) => a - b);
    return { bytes: statSync(outfile).size, initMs: samples[3] ?? Number.NaN };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureBundle();
  const size = `${(r.bytes / 1e6).toFixed(2)} MB`;
  console.log(`gateway bundle: ${size} (target ≤ 1.5 MB: ${r.bytes <= 1.5e6 ? 'met' : 'NOT met'})`);
  console.log(
    `module init (median of 7): ${r.initMs.toFixed(0)} ms (target ≤ 150 ms: ${r.initMs <= 150 ? 'met' : 'NOT met'})`,
  );
}
