/**
 * The Lambda host's run-now (`POST /admin/v1/billing/reconcile`): an asynchronous invoke (InvocationType
 * `Event`) of the reconciler function with a {@link ReconcileNowEvent}; the reconciler runs the day and stores
 * the reports, and the admin API answers 202 at once. `@aws-sdk/client-lambda` is imported at the first run,
 * so the gateway's module init does not grow.
 *
 * Runs are bounded across the fleet: one run of a (day, provider) per {@link RUN_NOW_HOLD_MS}, held by a
 * conditional write of a lease item in the keys table (`lease#reconcile-now#<day>#<provider | *>`); another
 * request for it meanwhile gets 409 `reconcile_running` and invokes nothing. Repeated clicks or a script loop
 * cannot start the same day's billing calls many times over.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ReconcileNow, ReconcileNowRequest } from '../core/admin/reconcile-now.ts';
import { ConflictError } from '../core/errors.ts';
import type { ReconcileNowEvent } from './reconcile-now-event.ts';

/** How long a started run of a (day, provider) holds its lease (a run's billing calls take seconds). */
export const RUN_NOW_HOLD_MS = 120_000;

export interface ReconcileInvokerOptions {
  /** The client (tests: one whose `send` is mocked); default one made at the first run. */
  readonly client?: Pick<LambdaClient, 'send'>;
  /** Where the leases are written (the keys table, which the gateway function may write). */
  readonly lease: { readonly dynamo: Pick<DynamoDBClient, 'send'>; readonly table: string };
  readonly nowMs?: () => number;
}

/** Takes the run's lease; false when a run of the same (day, provider) started less than the hold ago. */
async function takeLease(
  lease: ReconcileInvokerOptions['lease'],
  req: ReconcileNowRequest,
  nowMs: number,
): Promise<boolean> {
  try {
    await lease.dynamo.send(
      new PutItemCommand({
        TableName: lease.table,
        Item: {
          pk: { S: `lease#reconcile-now#${req.day}#${req.provider ?? '*'}` },
          until: { N: String(nowMs + RUN_NOW_HOLD_MS) },
          // The keys table's TTL removes the lease a day after its hold (no item per day piles up).
          expiresAt: { N: String(Math.floor((nowMs + RUN_NOW_HOLD_MS) / 1000) + 86_400) },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR #until < :now',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':now': { N: String(nowMs) } },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** Hands each run to the reconciler function `functionName` (its name or ARN). */
export function lambdaReconcileNow(functionName: string, opts: ReconcileInvokerOptions): ReconcileNow {
  let client = opts.client;
  const encoder = new TextEncoder();
  const now = opts.nowMs ?? Date.now;
  return async (req) => {
    if (!(await takeLease(opts.lease, req, now())))
      throw new ConflictError({
        code: 'reconcile_running',
        message: `A reconciliation of ${req.day} (${req.provider ?? 'every provider'}) was started less than ${RUN_NOW_HOLD_MS / 60_000} minutes ago; its reports appear on the billing page when it is done.`,
      });
    const sdk = await import('@aws-sdk/client-lambda');
    // Each try bounded like the gateway's DynamoDB calls: a hung invoke must not hold the admin request.
    client ??= new sdk.LambdaClient({
      requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 5_000 }),
    });
    const event: ReconcileNowEvent = {
      switchyard: 'reconcile-now',
      day: req.day,
      ...(req.provider === undefined ? {} : { provider: req.provider }),
    };
    await client.send(
      new sdk.InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: encoder.encode(JSON.stringify(event)),
      }),
    );
    return { status: 'started' };
  };
}
