/** The synthesized template (aws-cdk-lib/assertions): streaming on both fronts, tables, secret, grants. */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardStack } from '../../lib/switchyard-stack.ts';

let template: Template;

beforeAll(() => {
  const app = new App();
  template = Template.fromStack(new SwitchyardStack(app, 'Test', { removalPolicy: 'destroy' }));
}, 60_000);

describe('SwitchyardStack', () => {
  it('runs the gateway on Node.js 22, ARM64, with the table and secret in its environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          SWITCHYARD_CONFIG_TABLE: Match.anyValue(),
          SWITCHYARD_SECRET_ID: Match.anyValue(),
        }),
      },
    });
  });

  it('exposes a function URL that streams responses', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { InvokeMode: 'RESPONSE_STREAM', AuthType: 'NONE' });
  });

  it('fronts the same function with a REST API whose integration streams', () => {
    const methods = template.findResources('AWS::ApiGateway::Method', {
      Properties: { Integration: { Type: 'AWS_PROXY', ResponseTransferMode: 'STREAM' } },
    });
    expect(Object.keys(methods).length).toBeGreaterThan(0);
    const uri = JSON.stringify(Object.values(methods)[0]);
    expect(uri).toContain('response-streaming-invocations');
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }),
      ]),
    });
  });

  it('keeps the config table on demand with point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('generates the master key into the secret', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: '_master', SecretStringTemplate: '{}' }),
    });
  });

  it('grants the function read access to its own table and secret only', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const statements = policies.flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } })
          .Properties.PolicyDocument.Statement,
    );
    const text = JSON.stringify(statements);
    expect(text).toContain('dynamodb:GetItem');
    expect(text).toContain('secretsmanager:GetSecretValue');
    expect(text).not.toContain('dynamodb:PutItem');
    expect(text).not.toMatch(/"Resource":"\*"/);
  });

  it('schedules the reconciler hourly (incremental) and daily (full run of the previous UTC day)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ mode: 'incremental' }) })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(15 1 * * ? *)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ mode: 'daily' }) })],
    });
    // Gateway and reconciler each have their own role.
    expect(Object.keys(template.findResources('AWS::IAM::Role')).length).toBeGreaterThanOrEqual(2);
  });

  it('has a dashboard over the EMF metrics by route and provider, and the Lambda metrics', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values(dashboards)[0]);
    for (const metric of [
      'Requests',
      'Errors',
      'Latency',
      'TimeToFirstToken',
      'GatewayOverhead',
      'Retries',
      'Fallbacks',
      'InputTokens',
      'OutputTokens',
      'CostUSD',
      'BillingDriftPercent',
    ]) {
      expect(body).toMatch(new RegExp(`MetricName=\\W+${metric}\\W`));
    }
    expect(body).toContain('ConcurrentExecutions');
    expect(body).toContain('Throttles');
  });

  it('sends alarms on throttles, concurrency, p99 duration, 5xx rate and billing drift to an SNS topic', () => {
    interface AlarmProps {
      MetricName?: string;
      Namespace?: string;
      Threshold: number;
      AlarmActions: unknown[];
      Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string } } }[];
    }
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: AlarmProps;
    }[];
    const byMetric = new Map(alarms.map((a) => [a.Properties.MetricName, a.Properties]));
    expect(byMetric.get('Throttles')?.Threshold).toBe(0);
    expect(byMetric.get('ConcurrentExecutions')?.Threshold).toBe(800);
    expect(byMetric.has('Duration')).toBe(true);
    const drift = byMetric.get('BillingDriftPercent');
    expect(drift?.Namespace).toBe('Switchyard');
    expect(drift?.Threshold).toBe(2);
    // 5xx alarms are rates over a minimum volume, for the REST API and the function URL.
    const rates = alarms
      .map((a) => a.Properties)
      .filter((p) => p.Metrics?.some((m) => m.Expression?.includes('100 * e / r')));
    expect(rates.map((p) => p.Threshold)).toEqual([5, 5]);
    const inputs = rates.map((p) =>
      (p.Metrics ?? [])
        .flatMap((m) => (m.MetricStat === undefined ? [] : [m.MetricStat.Metric.MetricName]))
        .sort(),
    );
    expect(inputs).toEqual(
      expect.arrayContaining([
        ['5XXError', 'Count'],
        ['Url5xxCount', 'UrlRequestCount'],
      ]),
    );
    for (const a of alarms) expect(JSON.stringify(a.Properties.AlarmActions)).toContain('Alarms');
    template.resourceCountIs('AWS::SNS::Topic', 1);
  });

  it('takes the drift tolerance as a prop', () => {
    const t = Template.fromStack(
      new SwitchyardStack(new App(), 'Drift', { removalPolicy: 'destroy', driftTolerancePercent: 0.5 }),
    );
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'BillingDriftPercent', Threshold: 0.5 });
  });
});
