/**
 * The reconciler function and its schedule: hourly incremental runs and a daily full run for the previous UTC
 * day. It has its own role, allowed to read the config table, the usage ledger and the secret (billing keys),
 * and to write the reports table.
 */
import { type CfnElement, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_USAGE_SHARDS } from '../functions/core/usage/types.ts';
import { RECONCILER_HANDLER_ENTRY } from './handler-bundling.ts';
import { acknowledgeTableIndexes } from './nag.ts';
import { SwitchyardFunction } from './switchyard-function.ts';

export interface ReconcilerProps {
  readonly configTable: Table;
  /** Statements name keys and group them by team. */
  readonly keysTable: Table;
  readonly usageTable: Table;
  readonly reportsTable: Table;
  /** Provider keys and the `_billing` admin keys. */
  readonly secret: Secret;
  readonly removalPolicy: RemovalPolicy;
  /** Default drift tolerance of the verdicts (the drift alarm's threshold too). */
  readonly driftTolerancePercent?: number;
  /** The usage ledger's aggregate shards per day: the gateway's value, or the reconciler misses aggregates. */
  readonly usageShards?: number;
  /** The issuer named on statements. */
  readonly orgName?: string;
}

/** How long statements are kept: seven years (finance records), older versions of an object 30 days. */
export const STATEMENT_RETENTION_DAYS = 2557;

export class Reconciler extends Construct {
  public readonly fn: SwitchyardFunction;
  /** Monthly statements (HTML, CSV, JSON), written by the daily run on a month's first days. */
  public readonly statements: Bucket;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    this.statements = new Bucket(this, 'Statements', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      removalPolicy: props.removalPolicy,
      lifecycleRules: [
        {
          id: 'statements',
          expiration: Duration.days(STATEMENT_RETENTION_DAYS),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    Validations.of(this.statements).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Statements are written by the reconciler only (its role) and read by finance through the console or CLI; CloudTrail records access, no server access log bucket is kept.',
    });
    this.fn = new SwitchyardFunction(this, 'Function', {
      entry: RECONCILER_HANDLER_ENTRY,
      memorySize: 256,
      timeout: Duration.minutes(5),
      removalPolicy: props.removalPolicy,
      environment: {
        SWITCHYARD_CONFIG_TABLE: props.configTable.tableName,
        SWITCHYARD_USAGE_TABLE: props.usageTable.tableName,
        SWITCHYARD_REPORTS_TABLE: props.reportsTable.tableName,
        SWITCHYARD_SECRET_ID: props.secret.secretArn,
        SWITCHYARD_DRIFT_TOLERANCE_PERCENT: String(props.driftTolerancePercent ?? 2),
        SWITCHYARD_USAGE_SHARDS: String(props.usageShards ?? DEFAULT_USAGE_SHARDS),
        SWITCHYARD_KEYS_TABLE: props.keysTable.tableName,
        SWITCHYARD_STATEMENTS_BUCKET: this.statements.bucketName,
        ...(props.orgName === undefined ? {} : { SWITCHYARD_ORG_NAME: props.orgName }),
        // The `service` dimension of the drift and balance metrics the stack's alarms watch.
        POWERTOOLS_SERVICE_NAME: Stack.of(this).stackName,
      },
    });
    props.configTable.grantReadData(this.fn);
    props.usageTable.grantReadData(this.fn);
    props.keysTable.grantReadData(this.fn);
    // PutObject under statements/ only (not grantPut's s3:Abort* and the whole bucket).
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.statements.arnForObjects('statements/*')],
      }),
    );
    const bucketId = Stack.of(this).getLogicalId(this.statements.node.defaultChild as CfnElement);
    Validations.of(this.fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/statements/*]`,
      reason:
        "One object per month and format under the statements bucket's statements/ prefix: the keys are not known in advance.",
    });
    props.reportsTable.grantReadWriteData(this.fn);
    props.secret.grantRead(this.fn);
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
