/**
 * The gateway Lambda: one NodejsFunction pinned to what the handler needs (Node.js 22, ARM64, ESM bundle by
 * the local esbuild, no Docker), its log group, and a function URL that streams responses. The URL is
 * IAM-authenticated (SigV4) by default: the REST API is the public entry, with its throttle and access logs,
 * and a public URL would be a way around both. `publicUrl` opts into auth NONE (the gateway's bearer keys still
 * protect every route but /health).
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type FunctionUrl, FunctionUrlAuthType, type IFunction, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_RESPONSES_TTL_DAYS } from '../functions/core/stores/response-store.ts';
import { DEFAULT_USAGE_SHARDS } from '../functions/core/usage/types.ts';
import { grantBedrockInvoke } from './bedrock-access.ts';
import { GATEWAY_HANDLER_ENTRY } from './handler-bundling.ts';
import { acknowledgeTableIndexes } from './nag.ts';
import { SwitchyardFunction } from './switchyard-function.ts';

export interface GatewayFunctionProps {
  readonly configTable: Table;
  readonly keysTable: Table;
  readonly usageTable: Table;
  /** Stored Responses: read, written and deleted by the gateway. */
  readonly responsesTable: Table;
  /** Reconciliation reports: read by the admin API's billing page. */
  readonly reportsTable?: Table;
  readonly secret: Secret;
  /** A streamed answer holds the function for its whole length, so memory is money. */
  readonly memorySize?: number;
  readonly timeout?: Duration;
  readonly reservedConcurrency?: number;
  readonly logRetention?: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Bedrock model ids the gateway may invoke (Converse / ConverseStream); none: no Bedrock access. */
  readonly bedrockModels?: readonly string[];
  /** A function URL anyone may call (auth NONE), beside the REST API; default false (AWS_IAM). */
  readonly publicUrl?: boolean;
  /** Aggregate shards per day of the usage ledger (SWITCHYARD_USAGE_SHARDS); default 16. Raise, never lower. */
  readonly usageShards?: number;
  /** Days a stored response is kept (SWITCHYARD_RESPONSES_TTL_DAYS); default 30. */
  readonly responsesTtlDays?: number;
}

export class GatewayFunction extends Construct {
  public readonly fn: SwitchyardFunction;
  public readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    super(scope, id);
    this.fn = new SwitchyardFunction(this, 'Function', {
      entry: GATEWAY_HANDLER_ENTRY,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(15),
      removalPolicy: props.removalPolicy,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrency: props.reservedConcurrency }),
      environment: {
        SWITCHYARD_CONFIG_TABLE: props.configTable.tableName,
        SWITCHYARD_KEYS_TABLE: props.keysTable.tableName,
        SWITCHYARD_USAGE_TABLE: props.usageTable.tableName,
        SWITCHYARD_SECRET_ID: props.secret.secretArn,
        SWITCHYARD_USAGE_SHARDS: String(props.usageShards ?? DEFAULT_USAGE_SHARDS),
        SWITCHYARD_RESPONSES_TABLE: props.responsesTable.tableName,
        SWITCHYARD_RESPONSES_TTL_DAYS: String(props.responsesTtlDays ?? DEFAULT_RESPONSES_TTL_DAYS),
        ...(props.reportsTable === undefined
          ? {}
          : { SWITCHYARD_REPORTS_TABLE: props.reportsTable.tableName }),
        // The `service` dimension of every EMF metric: the stack's name, so the dashboard and the alarms of two
        // stacks in one account never read each other's metrics.
        POWERTOOLS_SERVICE_NAME: Stack.of(this).stackName,
      },
    });
    // Config: read per route cache refresh; written only by the admin API's `PUT /admin/v1/routes` (admin keys).
    props.configTable.grantReadWriteData(this.fn);
    // Keys: lookups, rate windows, budget holds. Usage: ledger records and aggregates (written, re-read
    // by a duplicate write). Both scoped to the table (and its indexes), nothing else.
    props.keysTable.grantReadWriteData(this.fn);
    props.usageTable.grantReadWriteData(this.fn);
    // Stored Responses: written after an answer, read to continue or GET one, deleted by DELETE.
    props.responsesTable.grantReadWriteData(this.fn);
    // Reports: read only (GET /admin/v1/billing/reports); the reconciler writes them.
    props.reportsTable?.grantReadData(this.fn);
    acknowledgeTableIndexes(this.fn, props.usageTable);
    props.secret.grantRead(this.fn);
    grantBedrockInvoke(this.fn, props.bedrockModels ?? []);
    this.url = this.fn.addFunctionUrl({
      authType: props.publicUrl === true ? FunctionUrlAuthType.NONE : FunctionUrlAuthType.AWS_IAM,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });
  }

  /**
   * The admin API's run-now (`POST /admin/v1/billing/reconcile`) invokes the reconciler asynchronously: its name
   * in SWITCHYARD_RECONCILER_FUNCTION, and `lambda:InvokeFunction` on that function alone (no version wildcard).
   */
  public allowReconcileNow(reconciler: IFunction): void {
    this.fn.addEnvironment('SWITCHYARD_RECONCILER_FUNCTION', reconciler.functionName);
    this.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [reconciler.functionArn] }),
    );
  }
}
