/** The synthesized template (aws-cdk-lib/assertions): streaming on both fronts, tables, secret, grants. */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardStack } from '../../lib/switchyard-stack.ts';
import { envOf, type Props, quickApp, resourcesOf, unbundled } from './stack-template.ts';

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

  it('exposes a function URL that streams responses and takes only IAM-signed requests', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      InvokeMode: 'RESPONSE_STREAM',
      AuthType: 'AWS_IAM',
    });
    // No resource policy opens it to anyone: the REST API (throttled, access-logged) is the public entry.
    const open = resourcesOf(template, 'AWS::Lambda::Permission').filter((p) => p.Principal === '*');
    expect(open).toEqual([]);
    const output = template.findOutputs('FunctionUrl').FunctionUrl as { Description: string };
    expect(output.Description).toMatch(/IAM/);
    expect(output.Description).not.toMatch(/baseURL/);
    expect((template.findOutputs('ApiUrl').ApiUrl as { Description: string }).Description).toMatch(/baseURL/);
  });

  it('opens the function URL to the public (auth NONE) only when asked to', () => {
    const t = unbundled('PublicUrl', { publicFunctionUrl: true });
    t.hasResourceProperties('AWS::Lambda::Url', { InvokeMode: 'RESPONSE_STREAM', AuthType: 'NONE' });
    const output = t.findOutputs('FunctionUrl').FunctionUrl as { Description: string };
    expect(output.Description).toMatch(/bypasses the REST API throttle and access logs/);
  });

  it('runs a REGIONAL REST API named after the stack (an edge-optimized one cuts a stream idle for 30 s)', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'Test',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('sends every path to the function, `/` included: no MOCK integration answering 500', () => {
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method');
    expect(methods.length).toBe(2);
    for (const m of methods) {
      expect(m.Integration).toMatchObject({ Type: 'AWS_PROXY', ResponseTransferMode: 'STREAM' });
    }
    const onRoot = methods.filter((m) => JSON.stringify(m.ResourceId).includes('RootResourceId'));
    expect(onRoot).toHaveLength(1);
    expect(JSON.stringify(template.toJSON())).not.toContain('"MOCK"');
  });

  it('keys alarms and dashboard to the stack: two stacks in one account share no dimension value', () => {
    const app = quickApp();
    const stacks = ['Blue', 'Green'].map((id) => new SwitchyardStack(app, id, { removalPolicy: 'destroy' }));
    const [blue, green] = stacks.map((s) => Template.fromStack(s)) as [Template, Template];
    // Literal dimension values only: a `Ref` names a resource of its own stack, so it is unique already.
    const literalDimensions = (t: Template): string[] =>
      resourcesOf(t, 'AWS::CloudWatch::Alarm').flatMap((p) => {
        const metrics = (p.Metrics ?? []) as { MetricStat?: { Metric: { Dimensions?: unknown[] } } }[];
        const dims = [
          ...((p.Dimensions ?? []) as unknown[]),
          ...metrics.flatMap((m) => m.MetricStat?.Metric.Dimensions ?? []),
        ] as { Name: string; Value: unknown }[];
        return dims.flatMap((d) => (typeof d.Value === 'string' ? [`${d.Name}=${d.Value}`] : []));
      });
    const ofGreen = new Set(literalDimensions(green));
    const ofBlue = literalDimensions(blue);
    // The REST API's name (5xx alarm) and the reconciler's `service` (drift and balance alarms).
    expect(new Set(ofBlue)).toEqual(new Set(['ApiName=Blue', 'service=Blue']));
    expect(ofBlue.filter((v) => ofGreen.has(v))).toEqual([]);
    // The EMF series the dashboard graphs are this stack's service only.
    const body = JSON.stringify(resourcesOf(blue, 'AWS::CloudWatch::Dashboard')[0]);
    const searches = body.match(/SEARCH\(/g) ?? [];
    expect(searches.length).toBeGreaterThan(5);
    expect(body.match(/service=\\+"Blue\\+"/g)?.length).toBe(searches.length);
    for (const env of envOf(blue)) expect(env.POWERTOOLS_SERVICE_NAME).toBe('Blue');
  });

  it('passes the usage shard count to the gateway, the reconciler and the ledger fold, and outputs it (default 16)', () => {
    for (const env of envOf(template)) expect(env.SWITCHYARD_USAGE_SHARDS).toBe('16');
    template.hasOutput('UsageShards', { Value: '16' });
    const t = unbundled('Shards', { usageShards: 32 });
    const envs = envOf(t);
    expect(envs).toHaveLength(3);
    for (const env of envs) expect(env.SWITCHYARD_USAGE_SHARDS).toBe('32');
    t.hasOutput('UsageShards', { Value: '32' });
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

  it('grants each function only its own tables: gateway writes keys, usage and responses, reads config; reconciler reads', () => {
    type Statement = { Action: string | string[]; Resource: unknown };
    const policies = template.findResources('AWS::IAM::Policy') as Record<
      string,
      { Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] } }
    >;
    const statementsOf = (rolePrefix: string) =>
      Object.values(policies)
        .filter((p) => p.Properties.Roles.some((r) => r.Ref.startsWith(rolePrefix)))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const tablesWith = (statements: Statement[], action: string) =>
      statements
        .filter((s) => [s.Action].flat().includes(action))
        .flatMap((s) => JSON.stringify(s.Resource).match(/Tables(Config|Keys|Usage|Responses)/g) ?? [])
        .sort();
    const gateway = statementsOf('GatewayFunction');
    const reconciler = statementsOf('ReconcilerFunction');
    expect(gateway.length).toBeGreaterThan(0);
    expect(reconciler.length).toBeGreaterThan(0);
    // Config: written by the admin API's PUT /admin/v1/routes (admin keys only), as `routes sync` does.
    expect([...new Set(tablesWith(gateway, 'dynamodb:PutItem'))]).toEqual([
      'TablesConfig',
      'TablesKeys',
      'TablesResponses',
      'TablesUsage',
    ]);
    expect([...new Set(tablesWith(gateway, 'dynamodb:GetItem'))]).toEqual([
      'TablesConfig',
      'TablesKeys',
      'TablesResponses',
      'TablesUsage',
    ]);
    // Stored Responses are deleted by DELETE /v1/responses/{id}: the gateway may, the reconciler may not touch them.
    expect([...new Set(tablesWith(gateway, 'dynamodb:DeleteItem'))]).toContain('TablesResponses');
    expect(tablesWith(reconciler, 'dynamodb:GetItem')).not.toContain('TablesResponses');
    expect(tablesWith(reconciler, 'dynamodb:PutItem')).toEqual([]);
    // The keys table too: statements name keys and group them by team (read only).
    expect([...new Set(tablesWith(reconciler, 'dynamodb:Query'))]).toEqual([
      'TablesConfig',
      'TablesKeys',
      'TablesUsage',
    ]);
    expect(tablesWith(reconciler, 'dynamodb:UpdateItem')).not.toContain('TablesKeys');
    const text = JSON.stringify([...gateway, ...reconciler]);
    expect(text).toContain('secretsmanager:GetSecretValue');
    expect(text).not.toMatch(/"Resource":"\*"/);
  });

  it('streams new usage records to the ledger fold: in order, retried whole, never bisected, INSERTs of records only', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'byTime' })],
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TablesUsage'), 'StreamArn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('^LedgerFoldFunction') },
      StartingPosition: 'TRIM_HORIZON',
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: false,
      MaximumBatchingWindowInSeconds: 1,
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { Keys: { pk: { S: [{ prefix: 'req#' }] } } },
            }),
          },
        ],
      },
    });
    // Retried until the batch folds (no retry cap, no record age cap): a dropped batch would lose usage.
    const [mapping] = resourcesOf(template, 'AWS::Lambda::EventSourceMapping');
    expect(mapping?.MaximumRetryAttempts).toBeUndefined();
    expect(mapping?.MaximumRecordAgeInSeconds).toBeUndefined();
    template.hasOutput('UsageFold', { Value: 'stream' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Namespace: 'AWS/Lambda',
      Threshold: 300_000,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^LedgerFoldFunction') } }],
    });
  });

  it('keeps monthly statements in a private, versioned, encrypted bucket the reconciler may only put into, and outputs it', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ ExpirationInDays: 2557, NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
        ],
      },
    });
    const reconcilerEnv = envOf(template).find((e) => e.SWITCHYARD_STATEMENTS_BUCKET !== undefined);
    expect(reconcilerEnv?.SWITCHYARD_KEYS_TABLE).toBeDefined();
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('"s3:PutObject"');
    expect(policies).not.toContain('s3:GetObject');
    expect(policies).not.toContain('s3:DeleteObject');
    expect(template.findOutputs('StatementsBucket').StatementsBucket).toBeDefined();
    const named = envOf(unbundled('Org', { orgName: 'Acme Corp' })).find(
      (e) => e.SWITCHYARD_STATEMENTS_BUCKET,
    );
    expect(named?.SWITCHYARD_ORG_NAME).toBe('Acme Corp');
  });

  it('holds the keys and usage tables with TTL, PITR, the byTime index, and outputs their names', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 5);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'byTime', Projection: { ProjectionType: 'ALL' } }),
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    const ttl = template.findResources('AWS::DynamoDB::Table', {
      Properties: { TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } },
    });
    expect(Object.keys(ttl)).toHaveLength(3); // keys, usage, responses
    template.hasOutput('KeysTableName', {});
    template.hasOutput('UsageTableName', {});
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SWITCHYARD_KEYS_TABLE: Match.anyValue(),
          SWITCHYARD_USAGE_TABLE: Match.anyValue(),
        }),
      },
    });
  });

  it('holds the stored-Responses table (on demand, PITR, TTL on expiresAt) and gives the gateway its name and TTL', () => {
    const tables = template.findResources('AWS::DynamoDB::Table') as Record<
      string,
      { Properties: Props; DeletionPolicy?: string; UpdateReplacePolicy?: string }
    >;
    const [id, table] =
      Object.entries(tables).find(([logical]) => logical.startsWith('TablesResponses')) ?? [];
    expect(id).toBeDefined();
    expect(table?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    // The removal policy of the other tables: this stack was made with removalPolicy=destroy.
    expect(table?.DeletionPolicy).toBe('Delete');
    const retained = unbundled('Retained', { removalPolicy: 'retain' }).findResources('AWS::DynamoDB::Table');
    const kept = Object.entries(retained).find(([logical]) => logical.startsWith('TablesResponses'))?.[1];
    expect((kept as { DeletionPolicy?: string } | undefined)?.DeletionPolicy).toBe('Retain');
    template.hasOutput('ResponsesTableName', { Value: { Ref: id } });
    const gateway = envOf(template).find((env) => env.SWITCHYARD_KEYS_TABLE !== undefined);
    expect(gateway?.SWITCHYARD_RESPONSES_TABLE).toEqual({ Ref: id });
    expect(gateway?.SWITCHYARD_RESPONSES_TTL_DAYS).toBe('30');
    // The admin API's billing page reads the reports (read only: no PutItem on it, above).
    expect(gateway?.SWITCHYARD_REPORTS_TABLE).toBeDefined();
    const reconciler = envOf(template).find((env) => env.SWITCHYARD_DRIFT_TOLERANCE_PERCENT !== undefined);
    expect(reconciler).not.toHaveProperty('SWITCHYARD_RESPONSES_TABLE');
    const week = envOf(unbundled('Week', { responsesTtlDays: 7 }));
    expect(week.find((env) => env.SWITCHYARD_KEYS_TABLE !== undefined)?.SWITCHYARD_RESPONSES_TTL_DAYS).toBe(
      '7',
    );
  });

  it('gives the reconciler the reports table to write, the secret to read, and their names', () => {
    template.hasOutput('ReportsTableName', {});
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SWITCHYARD_REPORTS_TABLE: Match.anyValue(),
          SWITCHYARD_SECRET_ID: Match.anyValue(),
          SWITCHYARD_USAGE_TABLE: Match.anyValue(),
        }),
      },
    });
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toMatch(/ReconcilerFunction[^"]*Role/);
    expect(policies).toContain('dynamodb:PutItem');
    expect(policies).toContain('secretsmanager:GetSecretValue');
  });
});
