/**
 * What the gateway may invoke on Amazon Bedrock: Converse (bedrock:InvokeModel) and ConverseStream
 * (bedrock:InvokeModelWithResponseStream) on the configured model ids only, never `foundation-model/*`.
 * A cross-Region inference profile id (`us.anthropic…`, `eu.`, `apac.`, `global.` …) needs the profile in
 * this account and Region and the foundation model in every Region the profile may route to:
 * https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html
 */
import { Aws, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import * as z from 'zod';

/** Geography prefixes of the system-defined cross-Region inference profiles. */
const PROFILE_PREFIX = /^(us|us-gov|eu|apac|jp|au|ca|global)\./;

/** A Bedrock model id such as `anthropic.claude-3-5-haiku-20241022-v1:0` or `us.amazon.nova-pro-v1:0`. */
const MODEL_ID = /^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9._-]*)+(:[a-z0-9.-]+)*$/;

/**
 * The `bedrockModels` CDK context: a comma-separated string (`-c bedrockModels=a,b`) or a JSON array
 * (`-c 'bedrockModels=["a","b"]'`, or an array in cdk.json). Absent: no Bedrock access at all.
 */
export const bedrockModelsContext = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const text = v.trim();
    if (text.startsWith('[')) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return v; // not a list: the array check below names it
      }
    }
    return text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  },
  z
    .array(z.string().regex(MODEL_ID, 'a Bedrock model id such as anthropic.claude-3-5-haiku-20241022-v1:0'))
    .default([]),
);

/** The resource ARNs one model id needs (CloudFormation pseudo parameters for partition, Region, account). */
export function bedrockModelArns(id: string): string[] {
  const profile = PROFILE_PREFIX.exec(id);
  // Any Region: a bedrock provider's `region` is config (routes sync), not stack, and may differ from the
  // stack's; the grant still names the one model.
  if (profile === null) return [`arn:${Aws.PARTITION}:bedrock:*::foundation-model/${id}`];
  return [
    `arn:${Aws.PARTITION}:bedrock:${Aws.REGION}:${Aws.ACCOUNT_ID}:inference-profile/${id}`,
    // Any Region: the profile routes to Regions of its geography, a global one to any (an empty Region too).
    `arn:${Aws.PARTITION}:bedrock:*::foundation-model/${id.slice(profile[0].length)}`,
  ];
}

/**
 * Lets `grantee` call Converse and ConverseStream on these models; adds nothing for an empty list. The
 * any-Region foundation-model ARNs are acknowledged to cdk-nag one by one.
 */
export function grantBedrockInvoke(grantee: IGrantable & IConstruct, models: readonly string[]): void {
  const ids = [...new Set(models)];
  if (ids.length === 0) return;
  const resources = ids.flatMap(bedrockModelArns);
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'InvokeConfiguredBedrockModels',
      actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
      resources,
    }),
  );
  for (const id of ids) {
    const profile = PROFILE_PREFIX.exec(id);
    const model = profile === null ? id : id.slice(profile[0].length);
    Validations.of(grantee).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/${model}]`,
      reason:
        profile === null
          ? `The bedrock providers of the routes name their own region: the grant names this one model, ${id}, in any of them.`
          : `The cross-Region inference profile ${id} sends each call to a Region Bedrock picks among its ` +
            'destinations: the grant names this one model, in any of them.',
    });
  }
}
