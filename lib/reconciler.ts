/**
 * The reconciler function and its schedule: hourly incremental runs and a daily full run for the previous UTC
 * day. It has its own role, allowed to read the config table and the usage ledger.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { RECONCILER_HANDLER_ENTRY } from './handler-bundling.ts';
import { acknowledgeTableIndexes } from './nag.ts';
import { SwitchyardFunction } from './switchyard-function.ts';

export interface ReconcilerProps {
  readonly configTable: Table;
  readonly usageTable: Table;
  readonly removalPolicy: RemovalPolicy;
}

export class Reconciler extends Construct {
  public readonly fn: SwitchyardFunction;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    this.fn = new SwitchyardFunction(this, 'Function', {
      entry: RECONCILER_HANDLER_ENTRY,
      memorySize: 256,
      timeout: Duration.minutes(5),
      removalPolicy: props.removalPolicy,
      environment: {
        SWITCHYARD_CONFIG_TABLE: props.configTable.tableName,
        SWITCHYARD_USAGE_TABLE: props.usageTable.tableName,
      },
    });
    props.configTable.grantReadData(this.fn);
    props.usageTable.grantReadData(this.fn);
    acknowledgeTableIndexes(this.fn, props.usageTable);
    new Rule(this, 'Hourly', {
      description: 'Switchyard reconciler: incremental run',
      schedule: Schedule.rate(Duration.hours(1)),
      targets: [new LambdaFunction(this.fn, { event: RuleTargetInput.fromObject({ mode: 'incremental' }) })],
    });
    new Rule(this, 'Daily', {
      description: 'Switchyard reconciler: full run for the previous UTC day',
      schedule: Schedule.cron({ minute: '15', hour: '1' }),
      targets: [new LambdaFunction(this.fn, { event: RuleTargetInput.fromObject({ mode: 'daily' }) })],
    });
  }
}
