/**
 * API Gateway REST API in front of the same function, with response streaming (responseTransferMode STREAM,
 * aws-cdk-lib ≥ 2.230): one greedy proxy resource, stage throttling and JSON access logs.
 */
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
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
        // Errors only, and never data tracing: request bodies (prompts) must not reach the logs.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
      },
    });
    const integration = new LambdaIntegration(props.fn, {
      proxy: true,
      responseTransferMode: ResponseTransferMode.STREAM,
      // Streams can last long; above 29 s needs the account's integration-timeout quota raised.
      timeout: Duration.minutes(15),
    });
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });
    const why = {
      'AwsSolutions-APIG2':
        'The gateway validates every body itself with zod and answers OpenAI-shaped 400s; API Gateway models would duplicate that with other error bodies.',
      'AwsSolutions-APIG3':
        'WAF is left to the operator (cost, rules vary); the stage is throttled and the gateway enforces its keys.',
      'AwsSolutions-APIG4':
        'Clients authenticate with the gateway bearer keys (OpenAI SDK apiKey); IAM or Cognito auth would break the OpenAI SDK.',
      'AwsSolutions-COG4':
        'No Cognito: clients authenticate with the gateway bearer keys, as the OpenAI SDK sends them.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]':
        "API Gateway's account-level logging role needs this AWS managed policy to write the stage's logs.",
    };
    for (const [id, reason] of Object.entries(why)) Validations.of(this.api).acknowledge({ id, reason });
  }
}
