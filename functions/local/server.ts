/**
 * The local gateway: embedded store + the core + node:http on loopback. `startGateway` is what `npm start`,
 * the end-to-end tests and the benchmark run, so all three exercise the same code.
 */
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BedrockTransportOptions, createBedrockTransport } from '../aws/bedrock-transport.ts';
import { DynamoHealthStore } from '../aws/stores/dynamo-health-store.ts';
import { DynamoKeyRepo } from '../aws/stores/dynamo-key-repo.ts';
import { DynamoLedger } from '../aws/stores/dynamo-ledger.ts';
import { DynamoLimitStore } from '../aws/stores/dynamo-limit-store.ts';
import { DynamoReportStore } from '../aws/stores/dynamo-report-store.ts';
import { DynamoResponseStore } from '../aws/stores/dynamo-response-store.ts';
import { DynamoRouteStore } from '../aws/stores/dynamo-route-store.ts';
import { MasterKeyStore } from '../core/auth.ts';
import { Background } from '../core/background.ts';
import { DEFAULT_TOLERANCE_PERCENT } from '../core/billing/report.ts';
import type { GatewayConfig } from '../core/config/schema.ts';
import { createGateway } from '../core/gateway/gateway.ts';
import type { ProbeResult } from '../core/gateway/probes.ts';
import { ClientKeyStore } from '../core/keys/key-store.ts';
import type { Logger, Metrics } from '../core/ports.ts';
import { HealthBoard, type HealthStore } from '../core/routing/health.ts';
import { maskingLogger, SecretMasker } from '../core/secrets.ts';
import { CachedRouteStore } from '../core/stores/cached-route-store.ts';
import {
  DEFAULT_RESPONSES_TTL_DAYS,
  type ResponseStorage,
  type ResponseStore,
} from '../core/stores/response-store.ts';
import {
  CONFIG_TABLE,
  KEYS_TABLE,
  REPORTS_TABLE,
  RESPONSES_TABLE,
  USAGE_TABLE,
} from '../core/stores/tables.ts';
import { abortableSleep, systemClock } from '../core/system.ts';
import { createUndiciClient } from '../core/upstream/undici-client.ts';
import { LedgerWriter } from '../core/usage/ledger-writer.ts';
import { DEFAULT_USAGE_RETENTION_DAYS, type LedgerStore, type UsageSpool } from '../core/usage/types.ts';
import { type StoreConnection, startEmbeddedStore } from './embedded-store.ts';
import { listen } from './listen.ts';
import { type LocalBilling, LocalReconcileRunner, staticBillingKeys } from './local-reconcile.ts';
import { DEFAULT_WRITE_STALL_MS, nodeHost } from './node-host.ts';
import { batchedStdout, InMemoryMetrics, jsonLogger } from './observability.ts';
import { type ProviderKeys, staticProviderKeys } from './settings.ts';
import { localTokenCounter } from './token-counter.ts';
import { FileUsageSpool } from './usage-spool.ts';

export interface LocalGatewayOptions {
  /** Validated config, written into the routes table at start (see `configMode`). */
  readonly config: GatewayConfig;
  /**
   * `replace` (default): the routes table holds exactly `config` afterwards. `seed`: `config` is written only
   * into a table that holds no config; one that has a config (synced by a user) keeps it.
   */
  readonly configMode?: 'replace' | 'seed';
  readonly masterKey: string;
  readonly providerKeys?: ProviderKeys;
  /** 0 = a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Embedded store folder; undefined keeps the store in memory (tests). */
  readonly dataDir?: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Routes are re-read when older than this (a request that finds them older waits for the re-read). */
  readonly routeCacheTtlMs?: number;
  readonly maxBodyBytes?: number;
  /** Aggregate shards of the usage ledger (default {@link LOCAL_USAGE_SHARDS}). */
  readonly usageShards?: number;
  /** Replaces the ledger store (tests: a store that fails). */
  readonly ledgerStore?: (real: LedgerStore) => LedgerStore;
  /** Where records go when the ledger stays down: default `<dataDir>/usage-spool.jsonl`. */
  readonly spool?: UsageSpool;
  /** Client-key cache TTL (default 5 s). */
  readonly keyCacheTtlMs?: number;
  /** Options of the Bedrock wire (tests: fake credentials); default the AWS SDK's credential chain. */
  readonly bedrock?: BedrockTransportOptions;
  /** Bounds on what a client may take to send its request; each field defaults to {@link DEFAULT_CLIENT_LIMITS}. */
  readonly clientLimits?: Partial<ClientLimits>;
  /** Days a stored response is kept (SWITCHYARD_RESPONSES_TTL_DAYS); default {@link DEFAULT_RESPONSES_TTL_DAYS}. */
  readonly responsesTtlDays?: number;
  /** Wraps the stored-Responses store (tests: a slow or failing one). */
  readonly responseStore?: (real: ResponseStore) => ResponseStore;
  /** How long an answer's end waits for its Response to be stored (default 3 s). */
  readonly responsesKeepWaitMs?: number;
  /**
   * Shared target health: wraps the embedded store's health items (a test points a second gateway at the
   * first one's store: two instances, one shared breaker).
   */
  readonly healthStore?: (real: HealthStore) => HealthStore;
  /** How old a target's shared health may be before it is re-read (default 1 s). */
  readonly healthRefreshMs?: number;
  /** How often the active health probes are looked at (default 5 s; each target's own `probeEveryMs` says when). */
  readonly healthProbeTickMs?: number;
  /** Billing keys and tolerance of `POST /admin/v1/billing/reconcile` (SWITCHYARD_BILLING_KEYS); default none, 2 %. */
  readonly billing?: LocalBilling & { readonly timeoutMs?: number };
}

/**
 * What a client connection may cost (node:http's timers): a slow or unfinished request is closed, so
 * trickled bodies cannot pile up connections and file descriptors. Only `writeStallMs` touches an answer, and
 * only one its client stopped reading: a request fully received is otherwise bounded by its route's timeouts,
 * however long its stream runs.
 */
export interface ClientLimits {
  /** The request's headers must have arrived within this (else 408, connection closed). */
  readonly headersTimeoutMs: number;
  /** The whole request, headers and body, must have arrived within this (else 408, connection closed). */
  readonly requestTimeoutMs: number;
  /** How often those two bounds are checked: a late request is closed at most this much after its bound. */
  readonly checkIntervalMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Client connections open at once, at most; more are closed as they arrive. */
  readonly maxConnections: number;
  /**
   * A client that takes none of its streamed answer for this long is cut (499): a stalled reader would
   * otherwise hold its connection and the upstream's stream indefinitely.
   */
  readonly writeStallMs: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  checkIntervalMs: 1_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 4_096,
  writeStallMs: DEFAULT_WRITE_STALL_MS,
};

/** How long `close()` lets requests in flight finish, by default. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
/** After the grace: how long the ended streams get to send their error event before connections are cut. */
export const SHUTDOWN_FLUSH_MS = 2_000;
/** How long the last ledger writes get at shutdown before what is left is spooled. */
export const SHUTDOWN_LEDGER_MS = 10_000;

/** What the start did with the config. */
export interface StartConfig {
  /** `replaced`: the given config was written; `seeded`: into an empty table; `kept`: the stored one. */
  readonly action: 'replaced' | 'seeded' | 'kept';
  /** The config in the table once started. */
  readonly config: GatewayConfig;
  /** Stored entries (providers, routes, prices) the given config removed. */
  readonly removed: number;
}

export interface RunningGateway {
  /** e.g. http://127.0.0.1:8787 — the OpenAI base URL is this + /v1. */
  readonly origin: string;
  readonly port: number;
  readonly routes: DynamoRouteStore;
  readonly startConfig: StartConfig;
  readonly metrics: Metrics;
  /** The ledger as the gateway writes it, and its writer's counters. */
  readonly ledger: DynamoLedger;
  readonly ledgerWriter: LedgerWriter;
  /** Stored Responses (`store: true`) in the embedded store's responses table, and their TTL. */
  readonly responses: ResponseStorage;
  /** Ledger writes and budget settlements still running. */
  readonly background: Background;
  /** Target health as this gateway sees it (breakers, cool-downs, moving averages). */
  readonly health: HealthBoard;
  /** Runs the active health probes that are due now (the timer does so every `healthProbeTickMs`). */
  probe(): Promise<ProbeResult[]>;
  /** The embedded store's unix socket (tests open their own client on it with `connectStore`). */
  readonly storeSocket: string;
  /**
   * Stops accepting, lets the requests in flight finish for up to `graceMs` (default
   * {@link DEFAULT_SHUTDOWN_GRACE_MS}), then ends the rest (streams with the SSE error event
   * `server_shutting_down`, draining streams stop draining), writes every ledger record, and closes the
   * store.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Locally one shard: dynalite has no per-partition write limit, and one aggregate per key/provider/model
 * lets a batch of 25 records land in three calls. Readers query shards 0…N-1, so they find it.
 */
export const LOCAL_USAGE_SHARDS = 1;

/** Whether the promise settled within `ms` (its timer never outlives the wait). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function applyConfig(
  routes: DynamoRouteStore,
  config: GatewayConfig,
  mode: 'replace' | 'seed',
): Promise<StartConfig> {
  if (mode === 'seed' && (await routes.items()).length > 0) {
    return { action: 'kept', config: await routes.load(), removed: 0 };
  }
  const { deleted } = await routes.sync(config);
  return { action: mode === 'seed' ? 'seeded' : 'replaced', config, removed: deleted };
}

export async function startGateway(opts: LocalGatewayOptions): Promise<RunningGateway> {
  // Every key this gateway holds is masked by value in its log lines and in what it sends to clients.
  const secrets = new SecretMasker();
  secrets.add([
    opts.masterKey,
    ...Object.values(opts.providerKeys ?? {}).flat(),
    ...Object.values(opts.billing?.keys ?? {}),
  ]);
  const logger = maskingLogger(opts.logger ?? jsonLogger(batchedStdout()), secrets);
  const metrics = opts.metrics ?? new InMemoryMetrics();
  const store: StoreConnection = await startEmbeddedStore(opts.dataDir);
  const routes = new DynamoRouteStore(store.client, store.tableName(CONFIG_TABLE));
  let startConfig: StartConfig;
  try {
    startConfig = await applyConfig(routes, opts.config, opts.configMode ?? 'replace');
  } catch (err) {
    await store.close();
    throw err;
  }
  const http = createUndiciClient();
  // Loads the AWS SDK only on the first Bedrock call.
  const bedrock = createBedrockTransport(opts.bedrock);
  const background = new Background();
  const keysTable = store.tableName(KEYS_TABLE);
  const ledger = new DynamoLedger(store.client, store.tableName(USAGE_TABLE), {
    shards: opts.usageShards ?? LOCAL_USAGE_SHARDS,
    retentionDays: DEFAULT_USAGE_RETENTION_DAYS,
    // Records settle their budget reservations there, in the same batches as the aggregates.
    limitsTable: keysTable,
  });
  const ledgerWriter = new LedgerWriter({
    store: opts.ledgerStore === undefined ? ledger : opts.ledgerStore(ledger),
    spool:
      opts.spool ??
      new FileUsageSpool(opts.dataDir ?? join(tmpdir(), `switchyard-spool-${process.pid}`), secrets),
    background,
    sleep: abortableSleep,
    logger,
  });
  const responseStore = new DynamoResponseStore(store.client, store.tableName(RESPONSES_TABLE), {
    clock: systemClock,
  });
  const responses: ResponseStorage = {
    store: opts.responseStore === undefined ? responseStore : opts.responseStore(responseStore),
    ttlDays: opts.responsesTtlDays ?? DEFAULT_RESPONSES_TTL_DAYS,
    ...(opts.responsesKeepWaitMs === undefined ? {} : { keepWaitMs: opts.responsesKeepWaitMs }),
  };
  const healthStore = new DynamoHealthStore(store.client, keysTable, { clock: systemClock });
  const health = new HealthBoard({
    store: opts.healthStore === undefined ? healthStore : opts.healthStore(healthStore),
    clock: systemClock,
    logger,
    track: (task) => background.add(task),
    onTransition: (e) => metrics.breaker?.(e),
    ...(opts.healthRefreshMs === undefined ? {} : { refreshMs: opts.healthRefreshMs }),
  });
  const keyRepo = new DynamoKeyRepo(store.client, keysTable);
  const reports = new DynamoReportStore(store.client, store.tableName(REPORTS_TABLE));
  const billing = opts.billing;
  // The admin API's run-now: `switchyard reconcile`'s deps, the gateway's keys and client; closed by close().
  const reconciler = new LocalReconcileRunner({
    routes,
    usage: ledger,
    reports,
    billingKeys: staticBillingKeys(billing?.keys ?? {}),
    providerKeys: staticProviderKeys(opts.providerKeys ?? {}),
    http,
    tolerancePercent: billing?.tolerancePercent ?? DEFAULT_TOLERANCE_PERCENT,
    ...(billing?.timeoutMs === undefined ? {} : { timeoutMs: billing.timeoutMs }),
  });
  const limitStore = new DynamoLimitStore(store.client, keysTable, { background });
  const gateway = createGateway({
    routes: new CachedRouteStore(routes, systemClock, opts.routeCacheTtlMs ?? 5_000, logger),
    health,
    keys: new ClientKeyStore(new MasterKeyStore(opts.masterKey), keyRepo, systemClock, opts.keyCacheTtlMs),
    adminKeys: keyRepo,
    adminLimits: limitStore,
    adminUsage: ledger,
    adminRoutes: routes,
    adminReports: reports,
    adminReconcile: reconciler.run,
    limits: limitStore,
    usage: ledgerWriter,
    tokens: localTokenCounter(),
    background,
    responses,
    providerKeys: staticProviderKeys(opts.providerKeys ?? {}),
    http,
    transports: { bedrock },
    clock: systemClock,
    sleep: abortableSleep,
    random: Math.random,
    secrets,
    logger,
    metrics,
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
  });

  const limits = { ...DEFAULT_CLIENT_LIMITS, ...opts.clientLimits };
  const host = nodeHost(gateway, logger, limits.writeStallMs);
  const server = createServer(
    {
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    host.listener,
  );
  server.maxConnections = limits.maxConnections;
  const hostName = opts.host ?? '127.0.0.1';
  let port: number;
  try {
    port = await listen(server, opts.port ?? 0, hostName);
  } catch (err) {
    await http.close();
    bedrock.close();
    await store.close();
    throw err;
  }
  // Active health probes: a timer owned by the server (closed first by close()), one round at a time.
  let probing: Promise<unknown> | undefined;
  const probeTimer = setInterval(() => {
    probing ??= gateway
      .probe()
      .catch((err: unknown) => logger.log('warn', 'health probes failed', { error: String(err) }))
      .finally(() => {
        probing = undefined;
      });
  }, opts.healthProbeTickMs ?? 5_000);
  probeTimer.unref();
  let closing: Promise<void> | undefined;
  return {
    origin: `http://${hostName}:${port}`,
    port,
    routes,
    startConfig,
    metrics,
    ledger,
    ledgerWriter,
    responses,
    background,
    health,
    storeSocket: store.socket,
    probe: () => gateway.probe(),
    close(graceMs = DEFAULT_SHUTDOWN_GRACE_MS) {
      closing ??= (async () => {
        clearInterval(probeTimer);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive sockets turn idle as their last response ends: close them as they do.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.closeIdleConnections();
        try {
          // The grace covers every request taken, not only open sockets: a stream draining for a client
          // that left has no socket left but still owes its ledger record.
          if (!(await settlesWithin(Promise.all([host.idle(), probing]), graceMs))) {
            gateway.shutdown();
            // A reconciliation still running stops at its next billing call; its request ends with the rest.
            await settlesWithin(Promise.all([host.idle(), reconciler.close()]), SHUTDOWN_FLUSH_MS);
          }
          server.closeAllConnections();
          await closed;
          // Requests that ended with their connections still owe their log line and ledger record.
          await settlesWithin(host.idle(), SHUTDOWN_FLUSH_MS);
        } finally {
          clearInterval(sweep);
        }
        await settlesWithin(http.close(), SHUTDOWN_FLUSH_MS);
        bedrock.close();
        // Ledger writes and settlements of the last requests land before the store closes — within a bound:
        // a store that hangs must not keep the process alive; what it has not taken goes to the spool.
        if (!(await settlesWithin(background.idle(), SHUTDOWN_LEDGER_MS))) {
          const spooled = ledgerWriter.spoolPending('the store did not take it before shutdown');
          logger.log('error', 'shutdown: ledger writes the store did not take were spooled', { spooled });
        }
        await settlesWithin(store.close(), SHUTDOWN_FLUSH_MS);
      })();
      return closing;
    },
  };
}
