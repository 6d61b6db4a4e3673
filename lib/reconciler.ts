/**
 * The reconciler function and its schedule: hourly incremental runs and a daily full run for the previous UTC
 * day. It has its own role, allowed to read the config table only (the ledger tables come with their issue).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ESM_REQUIRE_BANNER, RECONCILER_HANDLER_ENTRY } from './handler-bundling.ts';
import { acknowledgeLambdaDefaults } from './nag.ts';

export interface ReconcilerProps {
  readonly configTable: Table;
  readonly removalPolicy: RemovalPolicy;
}

export class Reconciler extends Construct {
  public readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    this.fn = new NodejsFunction(this, 'Function', {
      entry: RECONCILER_HANDLER_ENTRY,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(5),
      logGroup: new LogGroup(this, 'Logs', {
        retention: RetentionDays.ONE_MONTH,
        removalPolicy: props.removalPolicy,
      }),
      environment: { SWITCHYARD_CONFIG_TABLE: props.configTable.tableName },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        externalModules: [],
      },
    });
    props.configTable.grantReadData(this.fn);
    acknowledgeLambdaDefaults(this.fn);
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
