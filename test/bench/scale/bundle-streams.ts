/**
 * The gateway bundle (as the stack builds it) under a 256 MB heap limit: `n` concurrent ~1 s streams of a
 * budgeted, rate-limited key through its handler, in a fresh plain Node process (./bundle-child.mjs), against dynalite, a fake
 * Secrets Manager and a fake OpenAI upstream in this process — so the child's memory is the function's own.
 * One Lambda instance serves one request at a time: n at once bounds far more than an instance ever holds.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { DynamoKeyRepo } from '../../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoRouteStore } from '../../../functions/aws/stores/dynamo-route-store.ts';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { newClientKey } from '../../../functions/core/keys/client-keys.ts';
import {
  CONFIG_TABLE,
  KEYS_TABLE,
  RESPONSES_TABLE,
  USAGE_TABLE,
} from '../../../functions/core/stores/tables.ts';
import { esbuildOptions, GATEWAY_HANDLER_ENTRY } from '../../../lib/handler-bundling.ts';
import { startFakeSecretsManager } from '../../aws/support/fake-secrets-manager.ts';
import { startDynamoEndpoint } from '../../support/dynamo-endpoint.ts';
import { startFakeOpenAI } from '../../support/fake-openai.ts';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./bundle-child.mjs', import.meta.url));
const MASTER = 'sk-sy-master-bundle-streams-0123456789';

export interface BundleStreams {
  readonly streams: number;
  readonly succeeded: number;
  readonly ms: number;
  readonly peakRssMb: number;
  readonly peakHeapMb: number;
  readonly ok: boolean;
}

export async function bundleStreams(n = 100, memoryMb = 256): Promise<BundleStreams> {
  const dir = await mkdtemp(join(tmpdir(), 'sy-bundle-streams-'));
  const [dynamo, secrets, upstream] = await Promise.all([
    startDynamoEndpoint(),
    startFakeSecretsManager({ region: 'us-east-1' }),
    startFakeOpenAI({ apiKey: 'sk-upstream-bundle' }),
  ]);
  try {
    const outfile = join(dir, 'index.mjs');
    await build({ ...esbuildOptions, entryPoints: [GATEWAY_HANDLER_ENTRY], outfile, logLevel: 'error' });
    // ~1 s streams: 20 chunks 50 ms apart.
    upstream.setDefault({ chunkDelayMs: 50, content: 'word '.repeat(20) });
    await new DynamoRouteStore(dynamo.client, dynamo.tableName(CONFIG_TABLE)).sync(
      parseConfig({
        providers: { openai: { type: 'openai', baseUrls: [upstream.url] } },
        routes: { 'gpt-4o-mini': { targets: [{ provider: 'openai', model: 'up' }] } },
        prices: { 'openai/up': { input: 0.15, output: 0.6 } },
      }),
    );
    secrets.putSecret('switchyard/keys', { _master: MASTER, openai: 'sk-upstream-bundle' });
    // A budgeted, rate-limited key: every stream makes its admission and carries its reservation.
    const key = newClientKey({
      name: 'hot',
      rpm: 100_000,
      budgetUsd: 1_000,
      period: 'month',
      limitShards: 4,
    });
    await new DynamoKeyRepo(dynamo.client, dynamo.tableName(KEYS_TABLE)).put(key.record);
    const { stdout } = await run(
      process.execPath,
      [`--max-old-space-size=${memoryMb}`, CHILD, outfile, String(n)],
      {
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIDBUNDLESTREAMS',
          AWS_SECRET_ACCESS_KEY: 'bundle-streams',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
          SWITCHYARD_CONFIG_TABLE: dynamo.tableName(CONFIG_TABLE),
          SWITCHYARD_KEYS_TABLE: dynamo.tableName(KEYS_TABLE),
          SWITCHYARD_USAGE_TABLE: dynamo.tableName(USAGE_TABLE),
          SWITCHYARD_RESPONSES_TABLE: dynamo.tableName(RESPONSES_TABLE),
          SWITCHYARD_SECRET_ID: 'switchyard/keys',
          // The function's logs would go to CloudWatch: here, away (the child's last line is the result).
          POWERTOOLS_LOG_LEVEL: 'ERROR',
          BENCH_KEY: key.key,
        },
      },
    );
    const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Omit<BundleStreams, 'ok'>;
    return { ...r, ok: r.succeeded === n && r.peakRssMb < memoryMb };
  } finally {
    await Promise.all([dynamo.close(), secrets.close(), upstream.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await bundleStreams()));
