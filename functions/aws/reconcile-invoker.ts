/**
 * The Lambda host's run-now (`POST /admin/v1/billing/reconcile`): an asynchronous invoke (InvocationType
 * `Event`) of the reconciler function with a {@link ReconcileNowEvent}; the reconciler runs the day and stores
 * the reports, and the admin API answers 202 at once. `@aws-sdk/client-lambda` is imported at the first run,
 * so the gateway's module init does not grow.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ReconcileNow } from '../core/admin/reconcile-now.ts';
import type { ReconcileNowEvent } from './reconcile-now-event.ts';

export interface ReconcileInvokerOptions {
  /** The client (tests: one whose `send` is mocked); default one made at the first run. */
  readonly client?: Pick<LambdaClient, 'send'>;
}

/** Hands each run to the reconciler function `functionName` (its name or ARN). */
export function lambdaReconcileNow(functionName: string, opts: ReconcileInvokerOptions = {}): ReconcileNow {
  let client = opts.client;
  const encoder = new TextEncoder();
  return async (req) => {
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
