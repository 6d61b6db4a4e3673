/**
 * The store a CLI command works on: the local embedded store (the running server's when there is one) or,
 * with `--stack`, a deployed stack's tables. Both are DynamoDB, so the commands do not care which. Either
 * way the CLI has at most {@link CLI_STORE_CONCURRENCY} store calls in flight.
 */
import { openStackTables, type StackTable, type StackTables } from '../aws/stack-store.ts';
import {
  CONFIG_TABLE,
  KEYS_TABLE,
  REPORTS_TABLE,
  type TableDefinition,
  USAGE_TABLE,
} from '../core/stores/tables.ts';
import { DEFAULT_USAGE_SHARDS } from '../core/usage/types.ts';
import { openStore } from './embedded-store.ts';
import { LOCAL_USAGE_SHARDS } from './server.ts';
import { CLI_STORE_CONCURRENCY, limitConcurrency } from './store-concurrency.ts';

const LOCAL: Readonly<Record<StackTable, TableDefinition>> = {
  config: CONFIG_TABLE,
  keys: KEYS_TABLE,
  usage: USAGE_TABLE,
  reports: REPORTS_TABLE,
};

export interface StoreFlags {
  readonly stack?: string | undefined;
  readonly region?: string | undefined;
}

export const STORE_OPTIONS = { stack: { type: 'string' }, region: { type: 'string' } } as const;

/**
 * Shards to read the usage ledger with: a stack's own count (its `UsageShards` output), else
 * `SWITCHYARD_USAGE_SHARDS` when set, else what the writer used — the local server's one shard, a stack's
 * default 16. Locally one shard, not sixteen: a long `usage` range is then a sixteenth of the queries, which a
 * running gateway's embedded store answers without running out of memory.
 */
export function ledgerShards(store: StackTables, flags: StoreFlags, fromEnv: number | undefined): number {
  return (
    store.usageShards ?? fromEnv ?? (flags.stack === undefined ? LOCAL_USAGE_SHARDS : DEFAULT_USAGE_SHARDS)
  );
}

/** The store of a CLI command (see the module's comment); `close()` when done. */
export async function openCliStore(flags: StoreFlags, dataDir: string): Promise<StackTables> {
  if (flags.stack !== undefined) {
    const tables = await openStackTables(flags.stack, flags.region);
    limitConcurrency(tables.client, CLI_STORE_CONCURRENCY);
    return tables;
  }
  const conn = await openStore(dataDir);
  limitConcurrency(conn.client, CLI_STORE_CONCURRENCY);
  return {
    client: conn.client,
    tableName: (which) => conn.tableName(LOCAL[which]),
    close: () => conn.close(),
  };
}
