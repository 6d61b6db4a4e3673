/** cdk-nag acknowledgements shared by both functions, each with its reason. */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IConstruct } from 'constructs';

export function acknowledgeLambdaDefaults(fn: IConstruct): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'The managed basic execution policy only lets the function write its own CloudWatch logs.',
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Node.js 22 is pinned on purpose: the project and its tests run on the node@22 devDependency, and middy 7 / powertools 2.36 are tested on it; moving the runtime is a deliberate change.',
  });
}

/**
 * `grant*Data` on a table with a GSI adds `<table>/index/*`: the wildcard is the table's own indexes (the
 * usage table's `byTime`), nothing else.
 */
export function acknowledgeTableIndexes(fn: IConstruct, table: Table): void {
  const id = Stack.of(table).getLogicalId(table.node.defaultChild as CfnElement);
  Validations.of(fn).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${id}.Arn>/index/*]`,
    reason:
      "Queries go through the table's own secondary indexes (`<table>/index/*`), which CDK grants as one pattern.",
  });
}
