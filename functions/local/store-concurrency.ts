/**
 * A bound on the store calls a CLI command has in flight. Some commands fan out — `usage` queries every shard
 * of every day of its range (a range since 2000 was 78,000 queries launched at once, queued in the SDK's
 * socket pool: 3.2 GB peak RSS), `keys list` reads every key's spend — and a deployed table bills and
 * throttles by the call. The bound is on the client, so it holds for every command and store class,
 * whatever they fan out.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Store calls in flight at most per CLI process: enough to hide the round trips, far below any limit. */
export const CLI_STORE_CONCURRENCY = 16;

/**
 * Makes `client` run at most `max` calls at once; the others wait their turn, first come first served. A
 * call holds its slot through the SDK's own retries (the limit is what the store sees).
 */
export function limitConcurrency(client: DynamoDBClient, max: number): void {
  let active = 0;
  // A FIFO without Array#shift (O(n)): tens of thousands can be waiting.
  let waiting: (() => void)[] = [];
  let head = 0;
  const acquire = (): Promise<void> | undefined => {
    if (active < max) {
      active++;
      return undefined;
    }
    return new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting[head];
    if (next === undefined) {
      active--;
      return;
    }
    waiting[head] = () => undefined;
    head++;
    if (head === waiting.length) {
      waiting = [];
      head = 0;
    }
    next(); // the slot passes to the next call as is
  };
  client.middlewareStack.add(
    (next) => async (args) => {
      await acquire();
      try {
        return await next(args);
      } finally {
        release();
      }
    },
    { step: 'initialize', priority: 'high', name: 'switchyardCliConcurrency' },
  );
}
