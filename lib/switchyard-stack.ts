/** The stack only composes constructs (STYLE.md rule 8). */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DEFAULT_USAGE_SHARDS } from '../functions/core/usage/types.ts';
import { GatewayFunction } from './gateway-function.ts';
import { HealthProbes } from './health-probes.ts';
import { LedgerFold } from './ledger-fold.ts';
import { Monitoring } from './monitoring.ts';
import { Reconciler } from './reconciler.ts';
import { GatewayRestApi } from './rest-api.ts';
import { GatewaySecret } from './secrets.ts';
import { SwitchyardTables } from './tables.ts';

export interface SwitchyardStackProps extends StackProps {
  readonly removalPolicy: 'retain' | 'destroy';
  readonly memorySize?: number;
  readonly reservedConcurrency?: number;
  readonly alarmEmail?: string;
  /** Billing drift (percent) past which the reconciler's alarm fires. Default 2. */
  readonly driftTolerancePercent?: number;
  /** Bedrock model ids (or cross-Region inference profile ids) the gateway may invoke; none by default. */
  readonly bedrockModels?: readonly string[];
  /** A function URL with auth NONE beside the REST API (default: AWS_IAM, the REST API is the public entry). */
  readonly publicFunctionUrl?: boolean;
  /** The usage ledger's aggregate shards per day (default 16): raise it, never lower it. */
  readonly usageShards?: number;
  /** Days a stored response (Responses API, `store: true`) is kept; default 30. */
  readonly responsesTtlDays?: number;
  /** The issuer named on monthly statements (default Switchyard). */
  readonly orgName?: string;
  /** Minutes between active health probe rounds; unset: none (lib/health-probes.ts). */
  readonly healthProbeMinutes?: number;
}

export class SwitchyardStack extends Stack {
  public readonly tables: SwitchyardTables;
  public readonly gateway: GatewayFunction;

  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    // One value for the gateway (writer), the reconciler (reader) and the output the CLI reads.
    const usageShards = props.usageShards ?? DEFAULT_USAGE_SHARDS;
    this.tables = new SwitchyardTables(this, 'Tables', { removalPolicy: props.removalPolicy });
    const secret = new GatewaySecret(this, 'Secret', { removalPolicy });
    this.gateway = new GatewayFunction(this, 'Gateway', {
      configTable: this.tables.config,
      keysTable: this.tables.keys,
      usageTable: this.tables.usage,
      responsesTable: this.tables.responses,
      reportsTable: this.tables.reports,
      secret: secret.secret,
      removalPolicy,
      ...(props.responsesTtlDays === undefined ? {} : { responsesTtlDays: props.responsesTtlDays }),
      ...(props.memorySize === undefined ? {} : { memorySize: props.memorySize }),
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrency: props.reservedConcurrency }),
      ...(props.bedrockModels === undefined ? {} : { bedrockModels: props.bedrockModels }),
      ...(props.publicFunctionUrl === undefined ? {} : { publicUrl: props.publicFunctionUrl }),
      usageShards,
    });
    const api = new GatewayRestApi(this, 'RestApi', { fn: this.gateway.fn, removalPolicy });
    if (props.healthProbeMinutes !== undefined)
      new HealthProbes(this, 'HealthProbes', { fn: this.gateway.fn, everyMinutes: props.healthProbeMinutes });
    const reconciler = new Reconciler(this, 'Reconciler', {
      configTable: this.tables.config,
      keysTable: this.tables.keys,
      usageTable: this.tables.usage,
      reportsTable: this.tables.reports,
      ...(props.orgName === undefined ? {} : { orgName: props.orgName }),
      secret: secret.secret,
      removalPolicy,
      ...(props.driftTolerancePercent === undefined
        ? {}
        : { driftTolerancePercent: props.driftTolerancePercent }),
      usageShards,
    });
    this.gateway.allowReconcileNow(reconciler.fn);
    const fold = new LedgerFold(this, 'LedgerFold', {
      usageTable: this.tables.usage,
      keysTable: this.tables.keys,
      removalPolicy,
      usageShards,
    });
    const monitoring = new Monitoring(this, 'Monitoring', {
      gateway: this.gateway.fn,
      ledgerFold: fold.fn,
      service: this.stackName,
      api: api.api,
      ...(props.alarmEmail === undefined ? {} : { alarmEmail: props.alarmEmail }),
      ...(props.driftTolerancePercent === undefined
        ? {}
        : { driftTolerancePercent: props.driftTolerancePercent }),
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${monitoring.dashboard.dashboardName}`,
    });
    new CfnOutput(this, 'ConfigTableName', { value: this.tables.config.tableName });
    new CfnOutput(this, 'KeysTableName', { value: this.tables.keys.tableName });
    new CfnOutput(this, 'UsageTableName', { value: this.tables.usage.tableName });
    new CfnOutput(this, 'ReportsTableName', { value: this.tables.reports.tableName });
    new CfnOutput(this, 'ResponsesTableName', { value: this.tables.responses.tableName });
    // `switchyard reconcile --stack` judges with the same default tolerance as the scheduled run.
    new CfnOutput(this, 'DriftTolerancePercent', { value: String(props.driftTolerancePercent ?? 2) });
    // The CLI must read the ledger's aggregates with the stack's shard count (SWITCHYARD_USAGE_SHARDS).
    new CfnOutput(this, 'UsageShards', { value: String(usageShards) });
    // The table's stream adds records into the aggregates: a CLI replay must only put them (stack-store.ts).
    new CfnOutput(this, 'UsageFold', { value: 'stream' });
    new CfnOutput(this, 'SecretArn', { value: secret.secret.secretArn });
    new CfnOutput(this, 'StatementsBucket', {
      value: reconciler.statements.bucketName,
      description:
        "Monthly statements: statements/<YYYY-MM>/statement-<YYYY-MM>.{html,csv,json}, issued on a month's 3rd day",
    });
    new CfnOutput(this, 'ApiUrl', { value: api.api.url, description: 'OpenAI baseURL = this + v1' });
    new CfnOutput(this, 'FunctionUrl', {
      value: this.gateway.url.url,
      description:
        props.publicFunctionUrl === true
          ? 'Public (auth NONE): bypasses the REST API throttle and access logs; OpenAI baseURL = this + v1'
          : 'IAM auth (SigV4 signed requests only); apps use ApiUrl',
    });
  }
}
