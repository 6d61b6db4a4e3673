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
}

/** Routing config: one item per provider, route and price (`pk` = `provider` | `route` | `price`, `sk` = id). */
export const CONFIG_TABLE = {
  id: 'Config',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
} as const satisfies TableDefinition;

export const TABLES: readonly TableDefinition[] = [CONFIG_TABLE];
