/**
 * API Gateway REST API in front of the same function, with response streaming (responseTransferMode STREAM,
 * aws-cdk-lib ≥ 2.230): one greedy proxy resource, stage throttling and JSON access logs.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  LambdaIntegration,
  LogGroupLogDestination,
  ResponseTransferMode,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface GatewayRestApiProps {
  readonly fn: IFunction;
  readonly throttleRateLimit?: number;
  readonly throttleBurstLimit?: number;
  readonly removalPolicy: RemovalPolicy;
}

export class GatewayRestApi extends Construct {
  public readonly api: RestApi;

  constructor(scope: Construct, id: string, props: GatewayRestApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy,
    });
    this.api = new RestApi(this, 'Api', {
      description: 'Switchyard OpenAI-compatible gateway',
      deployOptions: {
        stageName: 'v',
        throttlingRateLimit: props.throttleRateLimit ?? 100,
        throttlingBurstLimit: props.throttleBurstLimit ?? 200,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
    });
    const integration = new LambdaIntegration(props.fn, {
      proxy: true,
      responseTransferMode: ResponseTransferMode.STREAM,
      // Streams can last long; above 29 s needs the account's integration-timeout quota raised.
      timeout: Duration.minutes(15),
    });
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });
  }
}
