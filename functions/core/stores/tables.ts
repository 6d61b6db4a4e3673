/**
 * DynamoDB table definitions, shared by the CDK stack (lib/) and the local embedded store: plain data, so the
 * core stays free of AWS imports.
 */
export interface TableDefinition {
  /** Logical name; CDK and the local store derive the physical name from it. */
  readonly id: string;
  readonly partitionKey: { readonly name: string; readonly type: 'S' | 'N' };
  readonly sortKey?: { readonly name: string; readonly type: 'S' | 'N' };
  /** Attribute holding an epoch-seconds expiry, when records expire. */
  readonly ttlAttribute?: string;
  /** A DynamoDB stream of the new item images (the usage table's, read by the ledger fold). */
  readonly stream?: 'NEW_IMAGE';
  /** Global secondary indexes (all attributes projected). */
  readonly globalIndexes?: readonly {
    readonly name: string;
    readonly partitionKey: { readonly name: string; readonly type: 'S' | 'N' };
    readonly sortKey?: { readonly name: string; readonly type: 'S' | 'N' };
  }[];
}

/** Routing config: one item per provider, route and price (`pk` = `provider` | `route` | `price`, `sk` = id). */
export const CONFIG_TABLE = {
  id: 'Config',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
} as const satisfies TableDefinition;

/**
 * Client keys and their counters, one generic `pk`:
 * - `key#<sha256 hex of the key>`: the key's record (id, name, models, rpm, budget, revoked) — never the key;
 * - `lim#<keyId>#<shard>`: the key's rate and budget counters on one of its limit shards — requests per
 *   minute, committed and spent USD per budget window, open reservations per expiry minute (layout in
 *   functions/aws/stores/limit-items.ts). Items of the design before (`rate#…`, `budget#…`) are no longer
 *   read: see README "Client keys" on upgrading;
 * - `health#<target id>` (`provider/model`): the target's shared health — the last breaker transition
 *   (`openUntil`, `reason`, `at`), moving averages (`latencyMs`, `ttftMs`), the half-open probe's claim
 *   (`probeAt`, `probeUntil`) and `expiresAt` (layout in functions/aws/stores/dynamo-health-store.ts).
 */
export const KEYS_TABLE = {
  id: 'Keys',
  partitionKey: { name: 'pk', type: 'S' },
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

/**
 * The usage ledger:
 * - request records: `pk` = `req#<requestId>`, `sk` = `<recordId>` (a gateway-made uuid, so a client reusing
 *   its own request id still gets one record per request), written once with a condition, expiring after
 *   the retention; listed by time through the `byTime` index (`gsi1pk` = `<day>#<shard>`, `gsi1sk` =
 *   `<ISO time>#<recordId>`);
 * - per-day aggregates: `pk` = `agg#<day>#<shard>`, `sk` = `<keyId>#<provider>#<model>`, counters added
 *   atomically, plus an `applied#r#<recordId>` / `applied#b#<batchId>` attribute per write in flight (so
 *   an add is never repeated). The shard (a hash of the record id, 0…N-1) spreads one busy day over N
 *   partitions;
 * - batch markers: `pk` = `batch#<batch id>`, `sk` = `-`: every record of that batch is in its aggregate.
 */
export const USAGE_TABLE = {
  id: 'Usage',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  ttlAttribute: 'expiresAt',
  stream: 'NEW_IMAGE',
  globalIndexes: [
    {
      name: 'byTime',
      partitionKey: { name: 'gsi1pk', type: 'S' },
      sortKey: { name: 'gsi1sk', type: 'S' },
    },
  ],
} as const satisfies TableDefinition;

/**
 * Billing reconciliation:
 * - reports: `pk` = `report#<day>`, `sk` = `<provider id>`, `doc` = the report as JSON (one per provider and
 *   UTC day, rewritten only when a run finds something different);
 * - snapshots of snapshot-kind bills: `pk` = `snap#<provider id>`, `sk` = `<ISO time>`, `doc` = the reading.
 */
export const REPORTS_TABLE = {
  id: 'Reports',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
} as const satisfies TableDefinition;

/**
 * Stored Responses (functions/aws/stores/dynamo-response-store.ts), every item of a response under
 * `pk` = `resp#<response id>`, each with `expiresAt` (epoch seconds; DynamoDB's TTL deletes it later, readers
 * ignore it from that second on):
 * - `sk` = `head`: the owner (`keyId`), `route`, `createdAt`, `prev` (previous_response_id), `writeId`, `parts`
 *   and, when it fits, `doc`: the gzipped JSON of the input items, output items and Response object. Written
 *   last, on condition that no head is there: without it the response does not exist;
 * - `sk` = `part#<writeId>#<0000…>`: the gzipped JSON cut into pieces under the 400 KB item limit, when it does
 *   not fit in the head.
 */
export const RESPONSES_TABLE = {
  id: 'Responses',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

export const TABLES: readonly TableDefinition[] = [
  CONFIG_TABLE,
  KEYS_TABLE,
  USAGE_TABLE,
  REPORTS_TABLE,
  RESPONSES_TABLE,
];
