/**
 * `npm run bench:bundle`: the gateway Lambda's bundle as `NodejsFunction` builds it (lib/handler-bundling.ts)
 * — its size, and its module init time in a fresh Node process with the Lambda runtime's `awslambda` global
 * stubbed (median of 7 cold imports). Targets from the AWS issue: ≤ 1.5 MB, init ≤ 150 ms.
 * `-- --source-maps` measures the alternative the stack does not ship: the bundle with its source map, loaded
 * with `--enable-source-maps` (what a deployed map would need to be of any use), init as wall and CPU time.
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
  /** CPU time (user + system) of the same import, median: less sensitive to a busy machine than wall time. */
  readonly initCpuMs: number;
}

const PROBE = `
globalThis.awslambda = { streamifyResponse: (fn) => fn, HttpResponseStream: { from: (s) => s } };
const t = performance.now();
const cpu = process.cpuUsage();
await import(process.argv[2]);
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify([performance.now() - t, (used.user + used.system) / 1000]));
`;

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export async function measureBundle(opts: { sourceMaps?: boolean } = {}): Promise<BundleReport> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bundle-'));
  try {
    const outfile = join(dir, 'index.mjs');
    const sourcemap = opts.sourceMaps === true;
    await build({
      ...esbuildOptions,
      sourcemap,
      entryPoints: [GATEWAY_HANDLER_ENTRY],
      outfile,
      logLevel: 'error',
    });
    writeFileSync(join(dir, 'probe.mjs'), PROBE);
    const env = {
      ...process.env,
      SWITCHYARD_CONFIG_TABLE: 'bench',
      SWITCHYARD_KEYS_TABLE: 'bench-keys',
      SWITCHYARD_USAGE_TABLE: 'bench-usage',
      SWITCHYARD_RESPONSES_TABLE: 'bench-responses',
      SWITCHYARD_SECRET_ID: 'bench',
      AWS_REGION: 'us-east-1',
    };
    const flags = sourcemap ? ['--enable-source-maps'] : [];
    const samples = Array.from({ length: 7 }, () => {
      const out = execFileSync(process.execPath, [...flags, join(dir, 'probe.mjs'), outfile], {
        env,
        encoding: 'utf8',
      });
      return JSON.parse(out) as [number, number];
    });
    return {
      bytes: statSync(outfile).size,
      initMs: median(samples.map(([wall]) => wall)),
      initCpuMs: median(samples.map(([, cpu]) => cpu)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sourceMaps = process.argv.includes('--source-maps');
  const r = await measureBundle({ sourceMaps });
  const size = `${(r.bytes / 1e6).toFixed(2)} MB`;
  if (sourceMaps)
    console.log('with its source map, loaded with --enable-source-maps (not what the stack ships):');
  console.log(`gateway bundle: ${size} (target ≤ 1.5 MB: ${r.bytes <= 1.5e6 ? 'met' : 'NOT met'})`);
  console.log(
    `module init (median of 7): ${r.initMs.toFixed(0)} ms (target ≤ 150 ms: ${r.initMs <= 150 ? 'met' : 'NOT met'}),` +
      ` ${r.initCpuMs.toFixed(0)} ms of CPU`,
  );
}
