/**
 * The routes table of a deployed stack, found through the stack's `ConfigTableName` output, so
 * `switchyard routes sync <file> --stack <name>` changes routing without a redeploy. Uses the caller's
 * usual AWS credentials and region (env, profile, SSO).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface StackStore {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  close(): Promise<void>;
}

export const CONFIG_TABLE_OUTPUT = 'ConfigTableName';

export async function openStackStore(stackName: string, region?: string): Promise<StackStore> {
  const cfn = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    const res = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = res.Stacks?.[0]?.Outputs ?? [];
    const tableName = outputs.find((o) => o.OutputKey === CONFIG_TABLE_OUTPUT)?.OutputValue;
    if (tableName === undefined) {
      throw new Error(`stack ${stackName} has no ${CONFIG_TABLE_OUTPUT} output: is it a Switchyard stack?`);
    }
    const client = new DynamoDBClient(region === undefined ? {} : { region });
    return { client, tableName, close: async () => client.destroy() };
  } finally {
    cfn.destroy();
  }
}
