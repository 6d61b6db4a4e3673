/** DynamoDB tables from the shared definitions (functions/core/stores/tables.ts): one construct, one concern. */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CONFIG_TABLE, type TableDefinition } from '../functions/core/stores/tables.ts';

export interface SwitchyardTablesProps {
  readonly removalPolicy: 'retain' | 'destroy';
}

function tableFrom(scope: Construct, def: TableDefinition, removal: RemovalPolicy): Table {
  const attr = (k: { name: string; type: 'S' | 'N' }) => ({
    name: k.name,
    type: k.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
  });
  return new Table(scope, def.id, {
    partitionKey: attr(def.partitionKey),
    ...(def.sortKey === undefined ? {} : { sortKey: attr(def.sortKey) }),
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    ...(def.ttlAttribute === undefined ? {} : { timeToLiveAttribute: def.ttlAttribute }),
    removalPolicy: removal,
  });
}

export class SwitchyardTables extends Construct {
  public readonly config: Table;

  constructor(scope: Construct, id: string, props: SwitchyardTablesProps) {
    super(scope, id);
    const removal = props.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    this.config = tableFrom(this, CONFIG_TABLE, removal);
  }
}
