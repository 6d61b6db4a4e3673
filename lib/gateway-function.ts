/**
 * The gateway Lambda: one NodejsFunction pinned to what the handler needs (Node.js 22, ARM64, ESM bundle by
 * the local esbuild, no Docker), its log group, and a function URL that streams responses. Auth on the URL
 * is NONE on purpose: the gateway's own bearer keys protect every route but /health.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import {
  Architecture,
  type FunctionUrl,
  FunctionUrlAuthType,
  InvokeMode,
  Runtime,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ESM_REQUIRE_BANNER, GATEWAY_HANDLER_ENTRY } from './handler-bundling.ts';
import { acknowledgeLambdaDefaults } from './nag.ts';

export interface GatewayFunctionProps {
  readonly configTable: Table;
  readonly secret: Secret;
  /** A streamed answer holds the function for its whole length, so memory is money. */
  readonly memorySize?: number;
  readonly timeout?: Duration;
  readonly reservedConcurrency?: number;
  readonly logRetention?: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class GatewayFunction extends Construct {
  public readonly fn: NodejsFunction;
  public readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy,
    });
    this.fn = new NodejsFunction(this, 'Function', {
      entry: GATEWAY_HANDLER_ENTRY,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(15),
      logGroup,
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
      environment: {
        SWITCHYARD_CONFIG_TABLE: props.configTable.tableName,
        SWITCHYARD_SECRET_ID: props.secret.secretArn,
        POWERTOOLS_SERVICE_NAME: 'switchyard',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // The AWS SDK is bundled (a pinned, tested version), not taken from the runtime.
        externalModules: [],
      },
    });
    props.configTable.grantReadData(this.fn);
    props.secret.grantRead(this.fn);
    acknowledgeLambdaDefaults(this.fn);
    this.url = this.fn.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });
  }
}
