/**
 * The gateway Lambda: middy v7 in streamify-response mode around the core. Everything is built once at module
 * scope (clients, caches, env parsed) and nothing is awaited at import, so a cold start costs only module
 * evaluation. Status and headers go out before the first body byte (middy writes the HTTP prelude), and a
 * stream that breaks later ends with the core's SSE error event.
 */
import { Readable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Context } from 'aws-lambda';
import { Background } from '../core/background.ts';
import { createGateway } from '../core/gateway/gateway.ts';
import { isProbeEvent } from '../core/gateway/probes.ts';
import { header } from '../core/http.ts';
import { ClientKeyStore } from '../core/keys/key-store.ts';
import type { RequestSummary } from '../core/ports.ts';
import { requestIdFrom } from '../core/request-id.ts';
import { HealthBoard } from '../core/routing/health.ts';
import { maskingLogger, SecretMasker } from '../core/secrets.ts';
import { CachedRouteStore } from '../core/stores/cached-route-store.ts';
import type { ResponseStorage } from '../core/stores/response-store.ts';
import { abortableSleep, systemClock } from '../core/system.ts';
import { createUndiciClient } from '../core/upstream/undici-client.ts';
import { LedgerWriter } from '../core/usage/ledger-writer.ts';
import { createBedrockTransport } from './bedrock-transport.ts';
import { watchResponseStream } from './dropped-response-guard.ts';
import { parseLambdaEnv } from './env.ts';
import { toGatewayRequest } from './event.ts';
import { powertoolsLogger, powertoolsMetrics } from './observability.ts';
import { lambdaReconcileNow } from './reconcile-invoker.ts';
import { SecretKeys } from './secret-keys.ts';
import { DynamoHealthStore } from './stores/dynamo-health-store.ts';
import { DynamoKeyRepo } from './stores/dynamo-key-repo.ts';
import { DynamoLedger } from './stores/dynamo-ledger.ts';
import { DynamoLimitStore } from './stores/dynamo-limit-store.ts';
import { DynamoReportStore } from './stores/dynamo-report-store.ts';
import { DynamoResponseStore } from './stores/dynamo-response-store.ts';
import { DynamoRouteStore } from './stores/dynamo-route-store.ts';
import { lambdaTokenCounter } from './token-counter.ts';
import { LogUsageSpool } from './usage-spool.ts';

const env = parseLambdaEnv(process.env);
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: 'Switchyard', serviceName: env.POWERTOOLS_SERVICE_NAME });
// Every value of the secret (master, provider and billing keys) is masked by value in log lines and answers.
const secrets = new SecretMasker();
const secret = new SecretKeys(env.SWITCHYARD_SECRET_ID, env.SWITCHYARD_SECRET_TTL_S, secrets);
const coreMetrics = powertoolsMetrics(metrics);
const coreLogger = maskingLogger(powertoolsLogger(logger), secrets);

/**
 * Each invocation waits (bounded) for its own request's summary, found by request id: a late summary of an
 * earlier, cut request resolves only its own waiter, never the current one.
 */
const waiters = new Map<string, () => void>();
let currentSummary: Promise<void> = Promise.resolve();

// DynamoDB answers in milliseconds; a call that hangs must not hold a request (or the route cache's re-read)
// until the function's timeout: each try gives up after these, and the SDK retries.
const dynamo = new DynamoDBClient({
  requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 5_000 }),
});
const background = new Background();

/**
 * Stored Responses (`store`, default true), on the table of SWITCHYARD_RESPONSES_TABLE, each kept
 * SWITCHYARD_RESPONSES_TTL_DAYS days (exported for the harness to check the wiring).
 */
export const responses: ResponseStorage = {
  store: new DynamoResponseStore(dynamo, env.SWITCHYARD_RESPONSES_TABLE, { clock: systemClock }),
  ttlDays: env.SWITCHYARD_RESPONSES_TTL_DAYS,
};

/**
 * Shared target health on the keys table (`health#<target>` items): transitions written when a breaker
 * opens or closes, moving averages at most every 5 s, a background re-read at most once a second — none of it
 * before the upstream call.
 */
const health = new HealthBoard({
  store: new DynamoHealthStore(dynamo, env.SWITCHYARD_KEYS_TABLE, { clock: systemClock }),
  clock: systemClock,
  logger: coreLogger,
  track: (task) => background.add(task),
  onTransition: (e) => coreMetrics.breaker?.(e),
});

const keyRepo = new DynamoKeyRepo(dynamo, env.SWITCHYARD_KEYS_TABLE);
const limitStore = new DynamoLimitStore(dynamo, env.SWITCHYARD_KEYS_TABLE, { background });
const ledger = new DynamoLedger(dynamo, env.SWITCHYARD_USAGE_TABLE, {
  shards: env.SWITCHYARD_USAGE_SHARDS,
  retentionDays: env.SWITCHYARD_USAGE_RETENTION_DAYS,
  // One put per request: the usage table's stream folds records into the aggregates (lib/ledger-fold.ts).
  fold: 'stream',
  limitsTable: env.SWITCHYARD_KEYS_TABLE,
});

const routeStore = new DynamoRouteStore(dynamo, env.SWITCHYARD_CONFIG_TABLE);

const gateway = createGateway({
  health,
  adminRoutes: routeStore,
  ...(env.SWITCHYARD_REPORTS_TABLE === undefined
    ? {}
    : { adminReports: new DynamoReportStore(dynamo, env.SWITCHYARD_REPORTS_TABLE) }),
  // Run-now hands the day to the reconciler function (an asynchronous invoke; its SDK loaded at the first run).
  ...(env.SWITCHYARD_RECONCILER_FUNCTION === undefined
    ? {}
    : {
        adminReconcile: lambdaReconcileNow(env.SWITCHYARD_RECONCILER_FUNCTION, {
          lease: { dynamo, table: env.SWITCHYARD_KEYS_TABLE },
        }),
      }),
  routes: new CachedRouteStore(routeStore, systemClock, env.SWITCHYARD_ROUTE_CACHE_TTL_MS, coreLogger),
  // The master key lives in the secret; client keys in the keys table (cached 5 s: a revoke lands < 10 s).
  keys: new ClientKeyStore(secret, keyRepo, systemClock),
  adminKeys: keyRepo,
  adminLimits: limitStore,
  limits: limitStore,
  adminUsage: ledger,
  usage: new LedgerWriter({
    store: ledger,
    spool: new LogUsageSpool(undefined, secrets),
    background,
    sleep: abortableSleep,
    logger: coreLogger,
    // One request per instance, and requestEnd waits for the write: no flush delay to bill.
    batch: false,
  }),
  tokens: lambdaTokenCounter(),
  background,
  responses,
  providerKeys: secret,
  http: createUndiciClient(),
  // The role's credentials; the SDK itself is a side file of the bundle, loaded on the first Bedrock call.
  transports: { bedrock: createBedrockTransport() },
  clock: systemClock,
  sleep: abortableSleep,
  random: Math.random,
  secrets,
  logger: coreLogger,
  metrics: {
    record(summary: RequestSummary) {
      coreMetrics.record(summary);
      waiters.get(summary.requestId)?.();
      waiters.delete(summary.requestId);
    },
    breaker: (e) => coreMetrics.breaker?.(e),
  },
});

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Readable;
}

async function lambdaHandler(event: unknown, context: Context): Promise<HttpResult> {
  logger.addContext(context);
  const base = toGatewayRequest(event);
  // Fix the request id here, so the correlation id is right for every log line of this request.
  const requestId = requestIdFrom(header(base.headers, 'x-request-id'));
  logger.setCorrelationId(requestId);
  currentSummary = new Promise<void>((resolve) => waiters.set(requestId, resolve));
  // The only sign of a client gone is the response stream being destroyed: that aborts the upstream call.
  const controller = new AbortController();
  const r = await gateway.handle({
    ...base,
    headers: { ...base.headers, 'x-request-id': requestId },
    signal: controller.signal,
  });
  if (typeof r.body === 'string' || r.body instanceof Uint8Array) {
    const text = typeof r.body === 'string' ? r.body : Buffer.from(r.body).toString('utf8');
    return { statusCode: r.status, headers: r.headers, body: text };
  }
  return { statusCode: r.status, headers: r.headers, body: streamOf(r.body, r.cancel, controller) };
}

/**
 * The SSE iterable as a Readable. Not `Readable.from`: its destroy waits for the pending `next()`, i.e. for
 * the upstream's next chunk, so a client that left would hold the upstream call until the idle timeout.
 * Here destroy aborts the request at once, which ends the pending read. A stream destroyed before its first
 * read (the runtime's connection broke at the response head) cancels the relay instead: a generator that
 * never started would skip its `finally`, and the request would never end nor reach the ledger.
 */
function streamOf(
  source: AsyncIterable<string>,
  cancel: (() => void) | undefined,
  controller: AbortController,
) {
  let it: AsyncIterator<string> | undefined;
  return new Readable({
    read() {
      it ??= source[Symbol.asyncIterator]();
      it.next().then(
        (next) => this.push(next.done ? null : next.value),
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    },
    destroy(err, callback) {
      controller.abort();
      if (it === undefined) cancel?.();
      else it.return?.().catch(() => {});
      callback(err);
    },
  });
}

/** Time kept back at the end of an invocation for the runtime to finish the response. */
const END_MARGIN_MS = 1_000;

/**
 * The stack's schedule (lib/health-probes.ts): the due active health probes, each an ordinary request with its
 * log line, metrics and ledger record, which land before the invocation resolves (bounded by its time left).
 */
async function probeRound(context: Context): Promise<void> {
  logger.addContext(context);
  const left = Math.max(0, context.getRemainingTimeInMillis() - END_MARGIN_MS);
  const results = await gateway.probe();
  logger.info('health probes', { probes: results });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise((resolve) => {
    timer = setTimeout(resolve, left);
  });
  await Promise.race([background.idle(), bound]).finally(() => clearTimeout(timer));
}

/**
 * The request's summary (log line + metrics) is written when its stream ends — for a client that left, after
 * the upstream was drained for its usage — and then the ledger write and the budget settlement run. The
 * invocation resolves only when all of that is done, bounded by the function's remaining time.
 */
const streaming = middy({
  executionMode: executionModeStreamifyResponse,
  async requestEnd(request) {
    const left = Math.max(0, request.context.getRemainingTimeInMillis() - END_MARGIN_MS);
    const bound = new Promise((resolve) => setTimeout(resolve, left).unref());
    await Promise.race([currentSummary.then(() => background.idle()), bound]);
  },
}).handler(lambdaHandler);

const runtimeRejectionIgnored = (err: unknown) =>
  logger.warn("the runtime's connection for the response dropped; its own promise rejection ignored", {
    error: String(err),
  });

/**
 * The exported handler: middy's streamified one, with the response stream watched first, so that a connection
 * to the runtime API that drops mid-answer ends the request instead of the instance (dropped-response-guard.ts).
 */
export const handler = awslambda.streamifyResponse(async (event: unknown, responseStream, context) => {
  if (isProbeEvent(event)) {
    await probeRound(context);
    responseStream.end();
    return;
  }
  watchResponseStream(responseStream, runtimeRejectionIgnored);
  // middy's streamify mode is called as the runtime calls it: (event, responseStream, context).
  const result: unknown = Reflect.apply(streaming, undefined, [event, responseStream, context]);
  await result;
});
