/**
 * API Gateway REST API in front of the same function, with response streaming (responseTransferMode STREAM,
 * aws-cdk-lib ≥ 2.230): the function answers every path (`/` included), with stage throttling and JSON access
 * logs. It is the stack's public entry (the function URL is IAM-authenticated unless opted out).
 */
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
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
    const integration = new LambdaIntegration(props.fn, {
      proxy: true,
      responseTransferMode: ResponseTransferMode.STREAM,
      // A streaming integration may run up to 15 minutes without a quota increase (the 29 s default limit
      // applies to buffered integrations only); the function's own timeout is the same 15 minutes.
      timeout: Duration.minutes(15),
    });
    this.api = new RestApi(this, 'Api', {
      // Named after the stack: API Gateway's metrics (and so the 5xx alarm) are keyed by `ApiName`, so two
      // stacks in one account must not share it.
      restApiName: Stack.of(this).stackName,
      description: 'Switchyard OpenAI-compatible gateway',
      // REGIONAL, not edge-optimized: CloudFront in front of an edge-optimized API cuts a response that stays
      // idle for 30 s, and a long first token (a reasoning model thinking) is exactly that.
      endpointTypes: [EndpointType.REGIONAL],
      // Every method, the root's included, goes to the function: `/` answers the gateway's own 404 instead of
      // the MOCK integration (a 500) that `addProxy` would otherwise put on the root.
      defaultIntegration: integration,
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
    this.api.root.addProxy({ anyMethod: true });
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
