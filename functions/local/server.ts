/**
 * The local gateway: embedded store + the core + node:http on loopback. `startGateway` is what `npm start`,
 * the end-to-end tests and the benchmark run, so all three exercise the same code.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BedrockTransportOptions, createBedrockTransport } from '../aws/bedrock-transport.ts';
import { DynamoKeyRepo } from '../aws/stores/dynamo-key-repo.ts';
import { DynamoLedger } from '../aws/stores/dynamo-ledger.ts';
import { DynamoLimitStore } from '../aws/stores/dynamo-limit-store.ts';
import { DynamoRouteStore } from '../aws/stores/dynamo-route-store.ts';
import { MasterKeyStore } from '../core/auth.ts';
import { Background } from '../core/background.ts';
import type { GatewayConfig } from '../core/config/schema.ts';
import { createGateway } from '../core/gateway/gateway.ts';
import { ClientKeyStore } from '../core/keys/key-store.ts';
import type { Logger, Metrics } from '../core/ports.ts';
import { CachedRouteStore } from '../core/stores/cached-route-store.ts';
import { CONFIG_TABLE, KEYS_TABLE, USAGE_TABLE } from '../core/stores/tables.ts';
import { abortableSleep, systemClock } from '../core/system.ts';
import { createUndiciClient } from '../core/upstream/undici-client.ts';
import { LedgerWriter } from '../core/usage/ledger-writer.ts';
import { DEFAULT_USAGE_RETENTION_DAYS, type LedgerStore, type UsageSpool } from '../core/usage/types.ts';
import { type StoreConnection, startEmbeddedStore } from './embedded-store.ts';
import { nodeHandler } from './node-host.ts';
import { batchedStdout, InMemoryMetrics, jsonLogger } from './observability.ts';
import { type ProviderKeys, staticProviderKeys } from './settings.ts';
import { localTokenCounter } from './token-counter.ts';
import { FileUsageSpool } from './usage-spool.ts';

export interface LocalGatewayOptions {
  /** Validated config, written into the routes table at start. */
  readonly config: GatewayConfig;
  readonly masterKey: string;
  readonly providerKeys?: ProviderKeys;
  /** 0 = a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Embedded store folder; undefined keeps the store in memory (tests). */
  readonly dataDir?: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** How long routes are served from memory before a background re-read of the table. */
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
}

export interface RunningGateway {
  /** e.g. http://127.0.0.1:8787 — the OpenAI base URL is this + /v1. */
  readonly origin: string;
  readonly port: number;
  readonly routes: DynamoRouteStore;
  readonly metrics: Metrics;
  /** The ledger as the gateway writes it, and its writer's counters. */
  readonly ledger: DynamoLedger;
  readonly ledgerWriter: LedgerWriter;
  /** Ledger writes and budget settlements still running. */
  readonly background: Background;
  /** The embedded store's unix socket (tests open their own client on it with `connectStore`). */
  readonly storeSocket: string;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes the store. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Locally one shard: dynalite has no per-partition write limit, and one aggregate per key/provider/model
 * lets a batch of 25 records land in three calls. Readers query shards 0…N-1, so they find it.
 */
export const LOCAL_USAGE_SHARDS = 1;

export async function startGateway(opts: LocalGatewayOptions): Promise<RunningGateway> {
  const logger = opts.logger ?? jsonLogger(batchedStdout());
  const metrics = opts.metrics ?? new InMemoryMetrics();
  const store: StoreConnection = await startEmbeddedStore(opts.dataDir);
  const routes = new DynamoRouteStore(store.client, store.tableName(CONFIG_TABLE));
  await routes.sync(opts.config);
  const http = createUndiciClient();
  // Loads the AWS SDK only on the first Bedrock call.
  const bedrock = createBedrockTransport(opts.bedrock);
  const background = new Background();
  const ledger = new DynamoLedger(store.client, store.tableName(USAGE_TABLE), {
    shards: opts.usageShards ?? LOCAL_USAGE_SHARDS,
    retentionDays: DEFAULT_USAGE_RETENTION_DAYS,
  });
  const ledgerWriter = new LedgerWriter({
    store: opts.ledgerStore === undefined ? ledger : opts.ledgerStore(ledger),
    spool:
      opts.spool ?? new FileUsageSpool(opts.dataDir ?? join(tmpdir(), `switchyard-spool-${process.pid}`)),
    background,
    sleep: abortableSleep,
    logger,
  });
  const keysTable = store.tableName(KEYS_TABLE);
  const gateway = createGateway({
    routes: new CachedRouteStore(routes, systemClock, opts.routeCacheTtlMs ?? 5_000, logger),
    keys: new ClientKeyStore(
      new MasterKeyStore(opts.masterKey),
      new DynamoKeyRepo(store.client, keysTable),
      systemClock,
      opts.keyCacheTtlMs,
    ),
    limits: new DynamoLimitStore(store.client, keysTable),
    usage: ledgerWriter,
    tokens: localTokenCounter(),
    background,
    providerKeys: staticProviderKeys(opts.providerKeys ?? {}),
    http,
    transports: { bedrock },
    clock: systemClock,
    sleep: abortableSleep,
    random: Math.random,
    logger,
    metrics,
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
  });

  const server = createServer({ keepAliveTimeout: 65_000 }, nodeHandler(gateway, logger));
  server.headersTimeout = 66_000;
  // Streams may last as long as a route's total timeout: no socket-level request timeout.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    origin: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    routes,
    metrics,
    ledger,
    ledgerWriter,
    background,
    storeSocket: store.socket,
    close(graceMs = 30_000) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive sockets turn idle as their last response ends: close them as they do.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearInterval(sweep);
        clearTimeout(timer);
        await http.close();
        bedrock.close();
        // Ledger writes and settlements of the last requests land before the store closes.
        await background.idle();
        await store.close();
      })();
      return closing;
    },
  };
}
