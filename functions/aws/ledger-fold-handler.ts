/**
 * The ledger fold function: the usage table's DynamoDB stream calls it with batches of new request records,
 * and it adds them into the per-day aggregates (./stores/ledger-stream-fold.ts says how, exactly once). A
 * failed batch throws: the event source mapping retries it, in order, until it folds (records stay in the
 * stream 24 h; the stack alarms on the stream's iterator age long before).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseFoldEnv } from './env.ts';
import { type DynamoStreamRecord, LedgerStreamFold, streamEntries } from './stores/ledger-stream-fold.ts';

const env = parseFoldEnv(process.env);
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const fold = new LedgerStreamFold(new DynamoDBClient({}), env.SWITCHYARD_USAGE_TABLE, {
  shards: env.SWITCHYARD_USAGE_SHARDS,
  // Budget reservations the records carry are settled on the keys table's limit items.
  limitsTable: env.SWITCHYARD_KEYS_TABLE,
});

export interface FoldResult {
  readonly records: number;
}

export async function handler(event: { Records?: readonly DynamoStreamRecord[] }): Promise<FoldResult> {
  const entries = streamEntries(event.Records ?? []);
  try {
    await fold.fold(entries);
  } catch (err) {
    logger.error('ledger fold failed: the batch will be retried', {
      records: entries.length,
      error: err instanceof Error ? err.message : String(err),
    });
    throw err;
  }
  fold.committed();
  return { records: entries.length };
}
