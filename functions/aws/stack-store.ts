/**
 * The tables of a deployed stack, found through its outputs (`ConfigTableName`, `KeysTableName`,
 * `UsageTableName`, `ReportsTableName`), so the CLI changes routing, keys and reads usage without a redeploy. Uses the caller's
 * usual AWS credentials and region (env, profile, SSO).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const TABLE_OUTPUTS = {
  config: 'ConfigTableName',
  keys: 'KeysTableName',
  usage: 'UsageTableName',
  reports: 'ReportsTableName',
} as const;
export type StackTable = keyof typeof TABLE_OUTPUTS;

export interface StackTables {
  readonly client: DynamoDBClient;
  tableName(which: StackTable): string;
  /** The usage table's aggregate shards as the stack deployed them (its `UsageShards` output), when known. */
  readonly usageShards?: number;
  /**
   * Who adds a usage record into the aggregates (its `UsageFold` output): `stream` on stacks whose table
   * stream folds them, so a CLI replay only puts the record. Stacks from before the fold have no output.
   */
  readonly usageFold?: 'inline' | 'stream';
  close(): Promise<void>;
}

/** A deployed stack's outputs by key (table names, SecretArn, URLs). */
export async function openStackOutputs(stackName: string, region?: string): Promise<Map<string, string>> {
  const cfn = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    const res = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    return new Map(
      (res.Stacks?.[0]?.Outputs ?? []).flatMap((o) =>
        o.OutputKey === undefined || o.OutputValue === undefined
          ? []
          : [[o.OutputKey, o.OutputValue] as const],
      ),
    );
  } finally {
    cfn.destroy();
  }
}

/** The stack's table outputs; a missing output fails only when that table is asked for. */
export async function openStackTables(stackName: string, region?: string): Promise<StackTables> {
  const outputs = await openStackOutputs(stackName, region);
  const client = new DynamoDBClient(region === undefined ? {} : { region });
  // Readers must query every shard the gateway writes (`-c usageShards`), whatever this machine's env says.
  const shards = Number(outputs.get('UsageShards'));
  return {
    client,
    ...(Number.isInteger(shards) && shards >= 1 ? { usageShards: shards } : {}),
    usageFold: outputs.get('UsageFold') === 'stream' ? 'stream' : 'inline',
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
