/** The gateway's Bedrock grant: Converse and ConverseStream on the configured model ids only. */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { bedrockModelArns, bedrockModelsContext } from '../../lib/bedrock-access.ts';
import { SwitchyardStack } from '../../lib/switchyard-stack.ts';

const HAIKU = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const PROFILE = 'us.anthropic.claude-3-7-sonnet-20250219-v1:0';
const GLOBAL = 'global.anthropic.claude-sonnet-4-20250514-v1:0';
const ACTIONS = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'];

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };
type Policy = { Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] } };

/** No asset bundling: these tests read IAM only (stack.test.ts and nag.test.ts build the real bundles). */
function synth(bedrockModels?: readonly string[]): { stack: SwitchyardStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SwitchyardStack(app, 'Grant', {
    removalPolicy: 'destroy',
    ...(bedrockModels === undefined ? {} : { bedrockModels }),
  });
  return { stack, template: Template.fromStack(stack) };
}

function bedrockStatements(template: Template, rolePrefix?: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Policy>)
    .filter((p) => rolePrefix === undefined || p.Properties.Roles.some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s) => [s.Action].flat().some((a) => a.startsWith('bedrock:')));
}

describe('Bedrock grant of the gateway', () => {
  it('adds no Bedrock statement when no model is configured', () => {
    expect(bedrockStatements(synth().template)).toEqual([]);
    expect(bedrockStatements(synth([]).template)).toEqual([]);
  });

  it('grants InvokeModel and InvokeModelWithResponseStream on exactly the configured foundation models', () => {
    const { stack, template } = synth([HAIKU, 'amazon.nova-lite-v1:0', HAIKU]);
    const statements = bedrockStatements(template, 'GatewayFunction');
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toEqual(ACTIONS);
    expect(statements[0]?.Resource).toEqual(
      stack.resolve([...bedrockModelArns(HAIKU), ...bedrockModelArns('amazon.nova-lite-v1:0')]),
    );
    // In any Region: a bedrock provider names its own `region` in the routes, not the stack.
    expect(JSON.stringify(statements[0]?.Resource)).toContain(`:bedrock:*::foundation-model/${HAIKU}`);
    expect(bedrockStatements(template, 'ReconcilerFunction')).toEqual([]);
  });

  it('grants a cross-Region profile in this account and its model in any Region', () => {
    const { stack, template } = synth([PROFILE, GLOBAL]);
    const [statement] = bedrockStatements(template, 'GatewayFunction');
    expect(statement?.Resource).toEqual(
      stack.resolve([...bedrockModelArns(PROFILE), ...bedrockModelArns(GLOBAL)]),
    );
    const text = JSON.stringify(statement?.Resource);
    expect(text).toContain(`:inference-profile/${PROFILE}`);
    expect(text).toContain(':bedrock:*::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0');
    expect(text).toContain(':bedrock:*::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0');
    expect(text).not.toContain('foundation-model/*');
    expect(text).not.toContain(`foundation-model/${PROFILE}`);
  });

  it('keeps cdk-nag at zero unacknowledged findings with a profile configured', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new SwitchyardStack(app, 'NagBedrock', { removalPolicy: 'retain', bedrockModels: [HAIKU, PROFILE] });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  it('names the ARNs with the pseudo parameters of the stack it lands in', () => {
    const stack = new Stack(new App(), 'Arns', { env: { account: '123456789012', region: 'eu-west-1' } });
    expect(stack.resolve(bedrockModelArns('eu.amazon.nova-pro-v1:0'))).toEqual([
      {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':bedrock:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':inference-profile/eu.amazon.nova-pro-v1:0',
          ],
        ],
      },
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':bedrock:*::foundation-model/amazon.nova-pro-v1:0'],
        ],
      },
    ]);
  });
});

describe('bedrockModels context', () => {
  it('takes a comma-separated string, a JSON array text or an array; nothing means none', () => {
    expect(bedrockModelsContext.parse(` ${HAIKU}, ${PROFILE} ,`)).toEqual([HAIKU, PROFILE]);
    expect(bedrockModelsContext.parse(JSON.stringify([HAIKU]))).toEqual([HAIKU]);
    expect(bedrockModelsContext.parse([PROFILE])).toEqual([PROFILE]);
    expect(bedrockModelsContext.parse(undefined)).toEqual([]);
    expect(bedrockModelsContext.parse('')).toEqual([]);
  });

  it('refuses what is not a model id, naming the expected shape', () => {
    expect(() => bedrockModelsContext.parse('anthropic.claude-*')).toThrow(/Bedrock model id/);
    expect(() => bedrockModelsContext.parse('[not json')).toThrow();
    expect(() => bedrockModelsContext.parse(['arn:aws:bedrock:us-east-1::foundation-model/x'])).toThrow(
      /Bedrock model id/,
    );
  });
});
