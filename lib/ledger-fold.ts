/**
 * The ledger fold: the usage table's stream (new images) feeds a function that adds each batch of request
 * records into the per-day aggregates (functions/aws/stores/ledger-stream-fold.ts). The gateway then writes
 * one item per request. The event source mapping keeps what the fold's exactly-once rule relies on: one
 * batch per stream shard at a time (parallelization 1), no bisection, a failed batch retried from its first
 * record until it folds (records stay in the stream 24 h; the iterator-age alarm fires long before).
 */
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { DEFAULT_USAGE_SHARDS } from '../functions/core/usage/types.ts';
import { LEDGER_FOLD_HANDLER_ENTRY } from './handler-bundling.ts';
import { acknowledgeTableIndexes } from './nag.ts';
import { SwitchyardFunction } from './switchyard-function.ts';

export interface LedgerFoldProps {
  /** The usage table, with a NEW_IMAGE stream. */
  readonly usageTable: Table;
  /** The keys table: the fold settles budget reservations on its limit items. */
  readonly keysTable: Table;
  readonly removalPolicy: RemovalPolicy;
  /** The gateway's aggregate shards: the fold writes the aggregates the readers query. */
  readonly usageShards?: number;
}

/** Records per batch and how long the mapping waits to fill one: few aggregate writes, ~1 s behind. */
export const FOLD_BATCH_SIZE = 1_000;
export const FOLD_BATCH_WINDOW = Duration.seconds(1);

export class LedgerFold extends Construct {
  public readonly fn: SwitchyardFunction;

  constructor(scope: Construct, id: string, props: LedgerFoldProps) {
    super(scope, id);
    this.fn = new SwitchyardFunction(this, 'Function', {
      entry: LEDGER_FOLD_HANDLER_ENTRY,
      memorySize: 256,
      timeout: Duration.minutes(1),
      removalPolicy: props.removalPolicy,
      environment: {
        SWITCHYARD_USAGE_TABLE: props.usageTable.tableName,
        SWITCHYARD_KEYS_TABLE: props.keysTable.tableName,
        SWITCHYARD_USAGE_SHARDS: String(props.usageShards ?? DEFAULT_USAGE_SHARDS),
        // Its log lines carry the stack's name, as the other functions' do.
        POWERTOOLS_SERVICE_NAME: Stack.of(this).stackName,
      },
    });
    // Aggregates only: UpdateItem to add, GetItem to read a mark back after a refusal.
    props.usageTable.grant(this.fn, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
    props.keysTable.grant(this.fn, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
    acknowledgeTableIndexes(this.fn, props.usageTable);
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, which the DynamoDB event source grants on "*": the action has no resource-level permissions.',
    });
    this.fn.addEventSource(
      // The cast only bridges exactOptionalPropertyTypes (Table's optional tableStreamArn vs ITable's).
      new DynamoEventSource(props.usageTable as ITable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: FOLD_BATCH_SIZE,
        maxBatchingWindow: FOLD_BATCH_WINDOW,
        parallelizationFactor: 1,
        bisectBatchOnError: false,
        // New request records only: not the aggregates' own updates, not TTL deletions.
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { Keys: { pk: { S: FilterRule.beginsWith('req#') } } },
          }),
        ],
      }),
    );
  }
}
