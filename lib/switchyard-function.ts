/**
 * The one NodejsFunction shape both Lambdas use: Node.js 22 on ARM64, an ESM bundle built by the local
 * esbuild (no Docker) with the AWS SDK inside, its own log group with retention, and the cdk-nag
 * acknowledgements every function shares.
 */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { copySideFiles, ESM_REQUIRE_BANNER, NODEJS_FUNCTION_SIDE_IMPORTS } from './handler-bundling.ts';
import { acknowledgeLambdaDefaults } from './nag.ts';

export interface SwitchyardFunctionProps {
  readonly entry: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention?: RetentionDays;
  readonly reservedConcurrency?: number;
}

export class SwitchyardFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: SwitchyardFunctionProps) {
    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      environment: props.environment,
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
      logGroup: new LogGroup(scope, `${id}Logs`, {
        retention: props.logRetention ?? RetentionDays.ONE_MONTH,
        removalPolicy: props.removalPolicy,
      }),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        // No source map: the runtime would use it only with --enable-source-maps, which costs cold-start time
        // (README "Deploy"), and its relative source paths made the asset hash depend on the output path.
        sourceMap: false,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // The AWS SDK is bundled (a pinned, tested version), not taken from the runtime; only the imports of the
        // side SDKs (Bedrock runtime, Lambda) stay external, each resolved to its side file (lib/handler-bundling.ts).
        externalModules: [...NODEJS_FUNCTION_SIDE_IMPORTS.externalModules],
        esbuildArgs: { ...NODEJS_FUNCTION_SIDE_IMPORTS.esbuildArgs },
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir, outputDir) => copySideFiles(outputDir),
        },
      },
    });
    acknowledgeLambdaDefaults(this);
  }
}
