/**
 * The store a CLI command works on: the local embedded store (the running server's when there is one) or,
 * with `--stack`, a deployed stack's tables. Both are DynamoDB, so the commands do not care which.
 */
import { openStackTables, type StackTable, type StackTables } from '../aws/stack-store.ts';
import {
  CONFIG_TABLE,
  KEYS_TABLE,
  REPORTS_TABLE,
  type TableDefinition,
  USAGE_TABLE,
} from '../core/stores/tables.ts';
import { openStore } from './embedded-store.ts';

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

export async function openCliStore(flags: StoreFlags, dataDir: string): Promise<StackTables> {
  if (flags.stack !== undefined) return openStackTables(flags.stack, flags.region);
  const conn = await openStore(dataDir);
  return {
    client: conn.client,
    tableName: (which) => conn.tableName(LOCAL[which]),
    close: () => conn.close(),
  };
}
