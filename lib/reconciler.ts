/**
 * The reconciler function and its schedule: hourly incremental runs and a daily full run for the previous UTC
 * day. It has its own role, allowed to read the config table only (the ledger tables come with their issue).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { RECONCILER_HANDLER_ENTRY } from './handler-bundling.ts';
import { SwitchyardFunction } from './switchyard-function.ts';

export interface ReconcilerProps {
  readonly configTable: Table;
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
      environment: { SWITCHYARD_CONFIG_TABLE: props.configTable.tableName },
    });
    props.configTable.grantReadData(this.fn);
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
