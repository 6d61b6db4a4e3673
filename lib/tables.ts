/** DynamoDB tables from the shared definitions (functions/core/stores/tables.ts): one construct, one concern. */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  CONFIG_TABLE,
  KEYS_TABLE,
  REPORTS_TABLE,
  RESPONSES_TABLE,
  type TableDefinition,
  USAGE_TABLE,
} from '../functions/core/stores/tables.ts';

export interface SwitchyardTablesProps {
  readonly removalPolicy: 'retain' | 'destroy';
}

function tableFrom(scope: Construct, def: TableDefinition, removal: RemovalPolicy): Table {
  const attr = (k: { name: string; type: 'S' | 'N' }) => ({
    name: k.name,
    type: k.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
  });
  const table = new Table(scope, def.id, {
    partitionKey: attr(def.partitionKey),
    ...(def.sortKey === undefined ? {} : { sortKey: attr(def.sortKey) }),
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    ...(def.ttlAttribute === undefined ? {} : { timeToLiveAttribute: def.ttlAttribute }),
    ...(def.stream === undefined ? {} : { stream: StreamViewType.NEW_IMAGE }),
    removalPolicy: removal,
  });
  for (const ix of def.globalIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: ix.name,
      partitionKey: attr(ix.partitionKey),
      ...(ix.sortKey === undefined ? {} : { sortKey: attr(ix.sortKey) }),
      projectionType: ProjectionType.ALL,
    });
  }
  return table;
}

export class SwitchyardTables extends Construct {
  public readonly config: Table;
  /** Client keys (by hash), rate windows and budget reservations; TTL on `expiresAt`. */
  public readonly keys: Table;
  /** The usage ledger: request records (TTL) and per-day aggregates. */
  public readonly usage: Table;
  /** Reconciliation reports (per provider per day) and bill snapshots. */
  public readonly reports: Table;
  /** Stored Responses (`store: true`): input and output items by response id, gzipped, TTL on `expiresAt`. */
  public readonly responses: Table;

  constructor(scope: Construct, id: string, props: SwitchyardTablesProps) {
    super(scope, id);
    const removal = props.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    this.config = tableFrom(this, CONFIG_TABLE, removal);
    this.keys = tableFrom(this, KEYS_TABLE, removal);
    this.usage = tableFrom(this, USAGE_TABLE, removal);
    this.reports = tableFrom(this, REPORTS_TABLE, removal);
    this.responses = tableFrom(this, RESPONSES_TABLE, removal);
  }
}
