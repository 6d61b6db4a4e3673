/**
 * The gateway as the Lambda builds it (functions/aws/gateway-handler.ts): the core with the real DynamoDB
 * stores — ClientKeyStore over DynamoKeyRepo, DynamoLimitStore, a LedgerWriter over DynamoLedger with
 * `batch: false` and `fold: 'stream'`, DynamoResponseStore, CachedRouteStore over DynamoRouteStore — against
 * dynalite (the embedded store, or a dynalite endpoint given by URL), with an in-process upstream answering
 * canned OpenAI chat completions (JSON or SSE) with usage. Three keys: the master key, a key with an rpm and a
 * monthly budget (both far above what the bench spends) on {@link LIMIT_SHARDS} limit shards, and one with no
 * limits. dynalite has no DynamoDB Streams: the records the ledger put are queued as the stream would deliver
 * them, and `fold()` runs the Lambda's fold (LedgerStreamFold) over them, off the counted requests.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoKeyRepo } from '../../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoLedger } from '../../../functions/aws/stores/dynamo-ledger.ts';
import { DynamoLimitStore } from '../../../functions/aws/stores/dynamo-limit-store.ts';
import { DynamoResponseStore } from '../../../functions/aws/stores/dynamo-response-store.ts';
import { DynamoRouteStore } from '../../../functions/aws/stores/dynamo-route-store.ts';
import { LedgerStreamFold, type StreamEntry } from '../../../functions/aws/stores/ledger-stream-fold.ts';
import { lambdaTokenCounter, TOKENIZER_RANKS_FILE } from '../../../functions/aws/token-counter.ts';
import { MasterKeyStore } from '../../../functions/core/auth.ts';
import { Background } from '../../../functions/core/background.ts';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { createGateway, type Gateway } from '../../../functions/core/gateway/gateway.ts';
import { newClientKey } from '../../../functions/core/keys/client-keys.ts';
import { ClientKeyStore } from '../../../functions/core/keys/key-store.ts';
import type { Logger } from '../../../functions/core/ports.ts';
import type { HttpClient } from '../../../functions/core/providers/types.ts';
import { CachedRouteStore } from '../../../functions/core/stores/cached-route-store.ts';
import {
  CONFIG_TABLE,
  KEYS_TABLE,
  RESPONSES_TABLE,
  USAGE_TABLE,
} from '../../../functions/core/stores/tables.ts';
import { abortableSleep, systemClock } from '../../../functions/core/system.ts';
import { LedgerWriter } from '../../../functions/core/usage/ledger-writer.ts';
import { DEFAULT_USAGE_SHARDS, type UsageRecord } from '../../../functions/core/usage/types.ts';
import {
  connectStore,
  type StoreConnection,
  startEmbeddedStore,
} from '../../../functions/local/embedded-store.ts';
import { ensureTables, localTableName } from '../../../functions/local/local-tables.ts';
import { InMemoryMetrics } from '../../../functions/local/observability.ts';
import { BUNDLE_SIDE_FILES } from '../../../lib/handler-bundling.ts';
import { CallCounter } from './counting-client.ts';

export const MASTER = 'sk-sy-master-scale-bench-0123456789';
export const MODEL = 'gpt-4o-mini';
export const SHARDS = DEFAULT_USAGE_SHARDS;
/** The hot key's limit shards (`keys create --limit-shards 4`). */
export const LIMIT_SHARDS = 4;
export type KeyKind = 'budgeted+rpm' | 'unlimited' | 'master';

/** How the in-process upstream answers. */
export interface UpstreamBehaviour {
  /** Waited for before answering (holds requests in flight, after their reservation). */
  gate?: Promise<void>;
  /** SSE content chunks before the usage chunk of a streamed request (default 3); the pause between them. */
  chunks?: number;
  chunkDelayMs?: number;
}

const enc = new TextEncoder();
const completion = JSON.stringify({
  id: 'chatcmpl-scale',
  object: 'chat.completion',
  created: 1,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello, bench.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
});
const chunk = (delta: object, extra: object = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-scale', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ id: 'chatcmpl-scale', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [], usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 } })}\n\n`;

export interface Rig {
  readonly gateway: Gateway;
  readonly background: Background;
  readonly counter: CallCounter;
  readonly client: DynamoDBClient;
  readonly keysTable: string;
  readonly usageTable: string;
  readonly keys: Readonly<Record<KeyKind, { readonly bearer: string; readonly id: string }>>;
  /** Upstream behaviour for the next requests. */
  upstream: UpstreamBehaviour;
  /** Calls the upstream received so far. */
  readonly stats: { upstreamCalls: number };
  /** Whether the token counter was asked for a count (loading the tokenizer ranks). */
  readonly tokenizer: { used: boolean };
  /** Error lines the gateway logged (a failed store call shows here). */
  readonly errors: string[];
  request(kind: KeyKind, opts?: { stream?: boolean }): Promise<{ status: number; text: string }>;
  /** Every write the last requests left behind (the ledger record, a tidy) done. */
  idle(): Promise<void>;
  /** Folds the records the simulated stream holds (one batch of the fold function), uncounted. */
  fold(): Promise<{ records: number; writes: number }>;
  close(): Promise<void>;
}

export interface RigOptions {
  /** A dynalite endpoint URL; default: the embedded store in a worker thread. */
  readonly endpoint?: string;
}

function endpointClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  let conn: StoreConnection | undefined;
  let client: DynamoDBClient;
  let peeker: DynamoDBClient;
  if (opts.endpoint === undefined) {
    conn = await startEmbeddedStore(undefined);
    client = conn.client;
    peeker = connectStore(conn.socket);
  } else {
    client = endpointClient(opts.endpoint);
    peeker = endpointClient(opts.endpoint);
    await ensureTables(client);
  }
  const table = (def: Parameters<typeof localTableName>[0]) => localTableName(def);
  const tables = new Map([CONFIG_TABLE, KEYS_TABLE, USAGE_TABLE, RESPONSES_TABLE].map((d) => [table(d), d]));
  const counter = new CallCounter(peeker, tables);
  counter.attach(client);

  await new DynamoRouteStore(client, table(CONFIG_TABLE)).sync(
    parseConfig({
      providers: { fake: { type: 'openai', baseUrls: ['http://upstream.invalid/v1'] } },
      routes: { [MODEL]: { targets: [{ provider: 'fake', model: MODEL }] } },
      prices: { [`fake/${MODEL}`]: { input: 0.15, output: 0.6 } },
    }),
  );
  const repo = new DynamoKeyRepo(client, table(KEYS_TABLE));
  const budgeted = newClientKey({
    name: 'hot',
    rpm: 1_000_000,
    budgetUsd: 1_000_000,
    period: 'month',
    limitShards: LIMIT_SHARDS,
  });
  const unlimited = newClientKey({ name: 'free' });
  await repo.put(budgeted.record);
  await repo.put(unlimited.record);
  const rig: Partial<Rig> & { upstream: UpstreamBehaviour } = { upstream: {} };
  const stats = { upstreamCalls: 0 };
  const http: HttpClient = {
    async send(req) {
      counter.upstream();
      stats.upstreamCalls++;
      const b = rig.upstream;
      if (b.gate !== undefined) await b.gate;
      if (!(req.body ?? '').includes('"stream":true')) {
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: (async function* () {
            yield enc.encode(completion);
          })(),
          dispose() {},
        };
      }
      const n = b.chunks ?? 3;
      const delay = b.chunkDelayMs ?? 0;
      return {
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body: (async function* () {
          yield enc.encode(chunk({ role: 'assistant', content: '' }));
          for (let i = 0; i < n; i++) {
            if (delay > 0) await new Promise((r) => setTimeout(r, delay));
            yield enc.encode(chunk({ content: `word${i} ` }));
          }
          yield enc.encode(usageChunk);
          yield enc.encode('data: [DONE]\n\n');
        })(),
        dispose() {},
      };
    },
  };

  const errors: string[] = [];
  const logger: Logger = {
    log(level, message, fields) {
      if (level === 'error') errors.push(`${message} ${JSON.stringify(fields)}`);
    },
  };
  const background = new Background();
  const limits = new DynamoLimitStore(client, table(KEYS_TABLE), { background });
  const ledger = new DynamoLedger(client, table(USAGE_TABLE), {
    shards: SHARDS,
    retentionDays: 90,
    fold: 'stream',
    limitsTable: table(KEYS_TABLE),
  });
  // The usage table's stream, as it would deliver the records the ledger put (dynalite has none).
  let streamed: StreamEntry[] = [];
  let seq = 10n ** 20n;
  const tapped = {
    async write(r: UsageRecord) {
      const out = await ledger.write(r);
      if (out === 'written') {
        seq++;
        streamed.push({
          record: r,
          eventId: `ev-${seq}`,
          seq: String(seq),
          createdS: Math.floor(Date.now() / 1000),
        });
      }
      return out;
    },
  };
  const folder = new LedgerStreamFold(client, table(USAGE_TABLE), {
    shards: SHARDS,
    limitsTable: table(KEYS_TABLE),
  });
  const tokenizer = { used: false };
  // The Lambda's counter with its ranks file where the CDK build puts it (beside the bundle).
  const ranksDir = new URL('.', `file://${BUNDLE_SIDE_FILES[TOKENIZER_RANKS_FILE]}`);
  const counted = lambdaTokenCounter(ranksDir);
  const spooled: unknown[] = [];
  const gateway = createGateway({
    routes: new CachedRouteStore(
      new DynamoRouteStore(client, table(CONFIG_TABLE)),
      systemClock,
      30_000,
      logger,
    ),
    keys: new ClientKeyStore(new MasterKeyStore(MASTER), repo, systemClock),
    limits,
    usage: new LedgerWriter({
      store: tapped,
      spool: { spool: (_r, err) => spooled.push(err) },
      background,
      sleep: abortableSleep,
      logger,
      batch: false,
    }),
    tokens: {
      count(text: string) {
        tokenizer.used = true;
        return counted.count(text);
      },
    },
    background,
    responses: {
      store: new DynamoResponseStore(client, table(RESPONSES_TABLE), { clock: systemClock }),
      ttlDays: 30,
    },
    providerKeys: { keys: async () => ['sk-upstream-scale-bench'] },
    http,
    clock: systemClock,
    sleep: abortableSleep,
    random: Math.random,
    logger,
    metrics: new InMemoryMetrics(),
  });

  const keys = {
    'budgeted+rpm': { bearer: budgeted.key, id: budgeted.record.id },
    unlimited: { bearer: unlimited.key, id: unlimited.record.id },
    master: { bearer: MASTER, id: 'master' },
  } as const;
  const body = (stream: boolean) =>
    enc.encode(
      JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'Say hello to the bench.' }],
        stream,
      }),
    );
  return Object.assign(rig, {
    gateway,
    background,
    counter,
    client,
    keysTable: table(KEYS_TABLE),
    usageTable: table(USAGE_TABLE),
    keys,
    tokenizer,
    stats,
    errors,
    async request(kind: KeyKind, o: { stream?: boolean } = {}) {
      const r = await gateway.handle({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${keys[kind].bearer}`, 'content-type': 'application/json' },
        body: body(o.stream === true),
        signal: new AbortController().signal,
      });
      let text = '';
      if (typeof r.body === 'string') text = r.body;
      else if (r.body instanceof Uint8Array) text = Buffer.from(r.body).toString('utf8');
      else for await (const c of r.body) text += c;
      return { status: r.status, text };
    },
    /** Folds the records the stream holds, as one batch of the fold function; its writes are not counted. */
    async fold() {
      const batch = streamed;
      streamed = [];
      const before = folder.stats.writes;
      await folder.fold(batch);
      folder.committed();
      return { records: batch.length, writes: folder.stats.writes - before };
    },
    async idle() {
      await background.idle();
      if (spooled.length > 0) throw new Error(`ledger records spooled: ${String(spooled[0])}`);
    },
    async close() {
      await background.idle();
      peeker.destroy();
      if (conn !== undefined) await conn.close();
      else client.destroy();
    },
  }) as Rig;
}
