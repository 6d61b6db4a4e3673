/**
 * The local gateway: embedded store + the core + node:http on loopback. `startGateway` is what `npm start`,
 * the end-to-end tests and the benchmark run, so all three exercise the same code.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoRouteStore } from '../aws/stores/dynamo-route-store.ts';
import { MasterKeyStore } from '../core/auth.ts';
import type { GatewayConfig } from '../core/config/schema.ts';
import { createGateway } from '../core/gateway/gateway.ts';
import type { Logger, Metrics } from '../core/ports.ts';
import { CachedRouteStore } from '../core/stores/cached-route-store.ts';
import { CONFIG_TABLE } from '../core/stores/tables.ts';
import { abortableSleep, systemClock } from '../core/system.ts';
import { createUndiciClient } from '../core/upstream/undici-client.ts';
import { type StoreConnection, startEmbeddedStore } from './embedded-store.ts';
import { nodeHandler } from './node-host.ts';
import { batchedStdout, InMemoryMetrics, jsonLogger } from './observability.ts';
import { type ProviderKeys, staticProviderKeys } from './settings.ts';

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
}

export interface RunningGateway {
  /** e.g. http://127.0.0.1:8787 — the OpenAI base URL is this + /v1. */
  readonly origin: string;
  readonly port: number;
  readonly routes: DynamoRouteStore;
  readonly metrics: Metrics;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes the store. */
  close(graceMs?: number): Promise<void>;
}

export async function startGateway(opts: LocalGatewayOptions): Promise<RunningGateway> {
  const logger = opts.logger ?? jsonLogger(batchedStdout());
  const metrics = opts.metrics ?? new InMemoryMetrics();
  const store: StoreConnection = await startEmbeddedStore(opts.dataDir);
  const routes = new DynamoRouteStore(store.client, store.tableName(CONFIG_TABLE));
  await routes.sync(opts.config);
  const http = createUndiciClient();
  const gateway = createGateway({
    routes: new CachedRouteStore(routes, systemClock, opts.routeCacheTtlMs ?? 5_000, logger),
    keys: new MasterKeyStore(opts.masterKey),
    providerKeys: staticProviderKeys(opts.providerKeys ?? {}),
    http,
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
        await store.close();
      })();
      return closing;
    },
  };
}
