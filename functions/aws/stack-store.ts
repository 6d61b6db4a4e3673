/**
 * The tables of a deployed stack, found through its outputs (`ConfigTableName`, `KeysTableName`,
 * `UsageTableName`), so the CLI changes routing, keys and reads usage without a redeploy. Uses the caller's
 * usual AWS credentials and region (env, profile, SSO).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const TABLE_OUTPUTS = {
  config: 'ConfigTableName',
  keys: 'KeysTableName',
  usage: 'UsageTableName',
} as const;
export type StackTable = keyof typeof TABLE_OUTPUTS;

export interface StackTables {
  readonly client: DynamoDBClient;
  tableName(which: StackTable): string;
  close(): Promise<void>;
}

/** The stack's table outputs; a missing output fails only when that table is asked for. */
export async function openStackTables(stackName: string, region?: string): Promise<StackTables> {
  const cfn = new CloudFormationClient(region === undefined ? {} : { region });
  let outputs: Map<string, string>;
  try {
    const res = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = new Map(
      (res.Stacks?.[0]?.Outputs ?? []).flatMap((o) =>
        o.OutputKey === undefined || o.OutputValue === undefined
          ? []
          : [[o.OutputKey, o.OutputValue] as const],
      ),
    );
  } finally {
    cfn.destroy();
  }
  const client = new DynamoDBClient(region === undefined ? {} : { region });
  return {
    client,
    tableName(which) {
      const name = outputs.get(TABLE_OUTPUTS[which]);
      if (name === undefined) {
        throw new Error(
          `stack ${stackName} has no ${TABLE_OUTPUTS[which]} output: is it a Switchyard stack?`,
        );
      }
      return name;
    },
    close: async () => client.destroy(),
  };
}
