/**
 * The Lambda harness: the real gateway handler bundle (built with the stack's esbuild options) loaded into a
 * shim of the Lambda Node.js runtime (the runtime itself cannot run here), invoked with function URL events
 * and REST API proxy events through a tiny loopback HTTP front, against dynalite (routes), a fake Secrets
 * Manager (master + provider keys) and a fake OpenAI provider — and driven with the official openai SDK.
 *
 * It sets the function's environment on `process.env` (restored by `close`), so a test file starts one
 * harness at most; vitest runs each file in a worker of its own.
 */
import { exec } from 'node:child_process';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import OpenAI from 'openai';
import { DynamoRouteStore } from '../../../functions/aws/stores/dynamo-route-store.ts';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import {
  CONFIG_TABLE,
  KEYS_TABLE,
  RESPONSES_TABLE,
  USAGE_TABLE,
} from '../../../functions/core/stores/tables.ts';
import {
  BUNDLE_SIDE_FILES,
  esbuildOptions,
  GATEWAY_HANDLER_ENTRY,
  LAMBDA_SDK,
  sideFileCommand,
} from '../../../lib/handler-bundling.ts';
import { type DynamoEndpoint, startDynamoEndpoint } from '../../support/dynamo-endpoint.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../../support/fake-openai.ts';
import { startTcpProxy, type TcpProxy } from '../../support/gateway-harness.ts';
import { startUsageStream, type UsageStream } from '../../support/usage-stream.ts';
import { ExecutionEnvironment, installAwsLambdaGlobals } from './awslambda-shim.ts';
import { type FakeLambdaInvoke, startFakeLambdaInvoke } from './fake-lambda-invoke.ts';
import { type FakeSecretsManager, startFakeSecretsManager } from './fake-secrets-manager.ts';
import { DEFAULT_FUNCTION, FunctionLogs, lambdaRuntimeEnv, measureColdInitMs } from './function-env.ts';
import { type EventFormat, type LambdaFront, startLambdaFront } from './lambda-front.ts';

export const SECRET_ID = 'switchyard/provider-keys';
export const MASTER = 'sk-sy-lambda-master-5f1c0e9a7b3d';
// No known key prefix: the bundle must mask it by its value (every value of the secret), not by its shape.
export const PROVIDER_KEY = 'upstreamLambdaKey2b7e151628aed2a6Qx';
export const GOOD_SECRET = { _master: MASTER, openai: PROVIDER_KEY, watched: [PROVIDER_KEY] };
export const SECRET_TTL_S = 1;
/** The EMF `service` dimension the stack gives the function (its POWERTOOLS_SERVICE_NAME: the stack's name). */
export const SERVICE = 'SwitchyardHarness';
export const MAX_BUNDLE_BYTES = 1_500_000;
const INIT_TARGET_MS = 150;
export const FORMATS: readonly EventFormat[] = ['function-url', 'rest-api'];
/** The reconciler function the admin API's run-now invokes (SWITCHYARD_RECONCILER_FUNCTION). */
export const RECONCILER_FUNCTION = 'switchyard-reconciler';
/** The stored-Responses TTL the harness gives the function (not the default, so the wiring shows). */
export const RESPONSES_TTL_DAYS = 7;

export const PROMPT = 'stream me a sentence that is long enough to need several chunks';
export const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
  { role: 'user', content: PROMPT },
];
export type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls `check` every 10 ms; throws naming `what` when it is still false after `ms`. */
export async function eventually(check: () => boolean, ms: number, what = 'condition'): Promise<void> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) throw new Error(`${what}: not met within ${ms} ms`);
    await sleep(10);
  }
}

/** A running harness: the bundle loaded in its execution environment, with a front per event format. */
export interface GatewayBundle {
  readonly conn: DynamoEndpoint;
  /** The usage table's stream, simulated in front of dynalite: the function reaches DynamoDB through it. */
  readonly usageStream: UsageStream;
  readonly secrets: FakeSecretsManager;
  /** The Lambda Invoke API the function reaches (AWS_ENDPOINT_URL_LAMBDA): the run-now's invokes. */
  readonly lambdaApi: FakeLambdaInvoke;
  readonly provider: FakeOpenAI;
  /** The TCP proxy in front of the `watched` provider (the `patient` route): counts open upstream connections. */
  readonly proxy: TcpProxy;
  /** What the function wrote to stdout and stderr since the bundle was imported. */
  readonly logs: FunctionLogs;
  readonly bundleBytes: number;
  /** The bundle's path (its side files beside it). */
  readonly bundleFile: string;
  /** Module init in the test process, and in a fresh process (cold). */
  readonly initMs: number;
  readonly coldMs: number;
  readonly frontOf: (format: EventFormat) => LambdaFront;
  /** The one execution environment (the "instance") every front invokes. */
  readonly runtime: ExecutionEnvironment;
  /** What the bundle's module exports (`handler`, and the stores it built for later wiring). */
  readonly exports: object;
  /** Stops everything, removes the temp dir and puts `process.env` back as it was. */
  readonly close: () => Promise<void>;
}

/** Builds the bundle, starts its dependencies and fronts, sets the function's environment and imports it. */
export async function startGatewayBundle(): Promise<GatewayBundle> {
  const logs = new FunctionLogs();
  const fronts = new Map<EventFormat, LambdaFront>();
  const envBefore = { ...process.env };
  let dir: string | undefined;
  let conn: DynamoEndpoint | undefined;
  let secrets: FakeSecretsManager | undefined;
  let lambdaApi: FakeLambdaInvoke | undefined;
  let provider: FakeOpenAI | undefined;
  let proxy: TcpProxy | undefined;
  let usageStream: UsageStream | undefined;
  let lambda: ExecutionEnvironment | undefined;
  let uninstallShim: (() => void) | undefined;

  const close = async (): Promise<void> => {
    logs.stop();
    await Promise.all([...fronts.values()].map((f) => f.close()));
    await Promise.allSettled(lambda?.invocations.map((i) => i.done) ?? []);
    lambda?.dispose();
    uninstallShim?.();
    await usageStream?.close();
    await Promise.all([
      conn?.close(),
      secrets?.close(),
      lambdaApi?.close(),
      provider?.close(),
      proxy?.close(),
    ]);
    for (const key of Object.keys(process.env)) if (!(key in envBefore)) delete process.env[key];
    Object.assign(process.env, envBefore);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  };

  try {
    dir = await mkdtemp(join(tmpdir(), 'sy-lambda-'));
    // Vitest transforms every module outside a node_modules folder before running it; under one, it leaves the
    // bundle to Node's own ESM loader, so what runs is byte for byte what esbuild wrote (as in Lambda).
    const taskRoot = join(dir, 'node_modules', 'lambda-task');
    const outfile = join(taskRoot, 'index.mjs');
    [conn, secrets, lambdaApi, provider, proxy] = await Promise.all([
      startDynamoEndpoint(),
      startFakeSecretsManager({ region: DEFAULT_FUNCTION.region }),
      startFakeLambdaInvoke(),
      startFakeOpenAI({ apiKey: PROVIDER_KEY }),
      startTcpProxy(),
      build({
        ...esbuildOptions,

        entryPoints: [GATEWAY_HANDLER_ENTRY],
        outfile,
      }),
      // The Lambda SDK's side file (the admin API's run-now loads it), as NodejsFunction's hook builds it.
      promisify(exec)(sideFileCommand(LAMBDA_SDK, taskRoot), { shell: '/bin/bash' }),
    ]);
    // What the CDK build copies next to the bundle (the tokenizer ranks), as NodejsFunction's hook does.
    for (const [name, from] of Object.entries(BUNDLE_SIDE_FILES)) await copyFile(from, join(taskRoot, name));
    const bundleBytes = (await stat(outfile)).size;
    proxy.forwardTo(provider.port);
    usageStream = await startUsageStream(conn.endpoint, conn.tableName(USAGE_TABLE));
    const table = conn.tableName(CONFIG_TABLE);
    const timeouts = { firstByteMs: 2000, idleMs: 2000, totalMs: 10_000 };
    const patient = { firstByteMs: 3000, idleMs: 3000, totalMs: 10_000 }; // ended by the client, not a timer
    const retry = { attempts: 0, initialBackoffMs: 10, maxBackoffMs: 50 };
    await new DynamoRouteStore(conn.client, table).sync(
      parseConfig({
        providers: {
          openai: { type: 'openai', baseUrls: [provider.url] },
          // The same fake behind a TCP proxy that counts the function's open upstream connections.
          watched: { type: 'openai', baseUrls: [`http://127.0.0.1:${proxy.port}/v1`] },
        },
        routes: {
          'gpt-4o-mini': { targets: [{ provider: 'openai', model: 'upstream-mini' }], timeouts, retry },
          // Active health probes (test/aws/handler-health-probes.test.ts).
          probed: {
            targets: [{ provider: 'openai', model: 'upstream-probed' }],
            timeouts,
            retry,
            health: { probeEveryMs: 60_000 },
          },
          patient: {
            targets: [{ provider: 'watched', model: 'upstream-mini' }],
            timeouts: patient,
            retry,
            onClientDisconnect: 'abort',
          },
        },
      }),
    );
    secrets.putSecret(SECRET_ID, GOOD_SECRET);

    for (const key of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'POWERTOOLS_DEV', 'AWS_ENDPOINT_URL'])
      delete process.env[key];
    Object.assign(process.env, lambdaRuntimeEnv(DEFAULT_FUNCTION, taskRoot), {
      AWS_ACCESS_KEY_ID: 'AKIDLAMBDAHARNESS',
      AWS_SECRET_ACCESS_KEY: 'lambda-harness-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: usageStream.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: lambdaApi.endpoint,
      SWITCHYARD_RECONCILER_FUNCTION: RECONCILER_FUNCTION,
      SWITCHYARD_CONFIG_TABLE: table,
      SWITCHYARD_KEYS_TABLE: conn.tableName(KEYS_TABLE),
      SWITCHYARD_USAGE_TABLE: conn.tableName(USAGE_TABLE),
      SWITCHYARD_RESPONSES_TABLE: conn.tableName(RESPONSES_TABLE),
      SWITCHYARD_RESPONSES_TTL_DAYS: String(RESPONSES_TTL_DAYS),
      SWITCHYARD_SECRET_ID: SECRET_ID,
      SWITCHYARD_SECRET_TTL_S: String(SECRET_TTL_S),
      POWERTOOLS_SERVICE_NAME: SERVICE,
    });
    uninstallShim = installAwsLambdaGlobals();
    logs.start();
    const t0 = performance.now();
    const mod: unknown = await import(pathToFileURL(outfile).href);
    const initMs = performance.now() - t0;
    const handler = typeof mod === 'object' && mod !== null ? Reflect.get(mod, 'handler') : undefined;
    const runtime = new ExecutionEnvironment(handler, DEFAULT_FUNCTION);
    lambda = runtime;
    for (const format of FORMATS) fronts.set(format, await startLambdaFront(lambda, format));
    const coldMs = await measureColdInitMs(pathToFileURL(outfile).href, process.env);
    console.log(
      `[lambda harness] bundle ${(bundleBytes / 1024).toFixed(1)} KiB = ${bundleBytes} B (target ≤ ${MAX_BUNDLE_BYTES} B;` +
        ` no source map); module init ${coldMs.toFixed(1)} ms in a fresh process,` +
        ` ${initMs.toFixed(1)} ms in the test process (target ≤ ${INIT_TARGET_MS} ms)`,
    );
    return {
      conn,
      usageStream,
      secrets,
      lambdaApi,
      provider,
      proxy,
      logs,
      bundleBytes,
      bundleFile: outfile,
      initMs,
      coldMs,
      frontOf: (format: EventFormat): LambdaFront => {
        const front = fronts.get(format);
        if (front === undefined) throw new Error(`no front for ${format}`);
        return front;
      },
      runtime,
      exports: typeof mod === 'object' && mod !== null ? mod : {},
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export const sdk = (front: LambdaFront, apiKey = MASTER) =>
  new OpenAI({ baseURL: `${front.baseURL}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
export const textOf = (chunks: Chunk[]): string =>
  chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
export const chat = (client: OpenAI) => client.chat.completions.create({ model: 'gpt-4o-mini', messages });
export const streamChat = (client: OpenAI, model = 'gpt-4o-mini', signal?: AbortSignal) =>
  client.chat.completions.create({ model, messages, stream: true }, signal === undefined ? {} : { signal });
/** Streams a chat and returns its content reassembled. */
export async function streamText(client: OpenAI): Promise<string> {
  const chunks: Chunk[] = [];
  for await (const c of await streamChat(client)) chunks.push(c);
  return textOf(chunks);
}
