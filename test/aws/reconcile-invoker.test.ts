/**
 * The Lambda host's run-now port (functions/aws/reconcile-invoker.ts) on its own: the InvokeCommand it sends,
 * with the Lambda client's `send` mocked (an AWS control plane), and its lease in the keys table (dynalite).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaReconcileNow, RUN_NOW_HOLD_MS } from '../../functions/aws/reconcile-invoker.ts';
import { reconcileNowEventSchema } from '../../functions/aws/reconcile-now-event.ts';
import { ConflictError } from '../../functions/core/errors.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../functions/local/embedded-store.ts';

let conn: StoreConnection;
beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
});
afterAll(async () => conn.close());
const lease = () => ({ dynamo: conn.client, table: conn.tableName(KEYS_TABLE) });

const client = () =>
  new LambdaClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
  });

describe('lambdaReconcileNow', () => {
  it('sends one asynchronous Invoke of the reconciler with the run-now event (Lambda Invoke API mocked: an AWS control plane)', async () => {
    const c = client();
    const send = vi.spyOn(c, 'send').mockImplementation(async () => ({ StatusCode: 202, $metadata: {} }));
    const run = lambdaReconcileNow('arn:aws:lambda:us-east-1:123456789012:function:recon', {
      client: c,
      lease: lease(),
    });
    await expect(run({ day: '2026-05-01', provider: 'or' })).resolves.toEqual({ status: 'started' });
    await run({ day: '2026-05-02' });
    expect(send).toHaveBeenCalledTimes(2);
    const [first, second] = send.mock.calls.map(([cmd]) => cmd as InvokeCommand);
    expect(first).toBeInstanceOf(InvokeCommand);
    expect(first?.input).toMatchObject({
      FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:recon',
      InvocationType: 'Event',
    });
    const payload = (cmd: InvokeCommand | undefined) =>
      JSON.parse(new TextDecoder().decode(cmd?.input.Payload as Uint8Array)) as unknown;
    expect(payload(first)).toEqual({ switchyard: 'reconcile-now', day: '2026-05-01', provider: 'or' });
    expect(payload(second)).toEqual({ switchyard: 'reconcile-now', day: '2026-05-02' });
    expect(reconcileNowEventSchema.parse(payload(first))).toEqual(payload(first));
  });

  it('fails the run when the invoke fails (Lambda Invoke API mocked: an AWS control plane)', async () => {
    const c = client();
    vi.spyOn(c, 'send').mockImplementation(async () => {
      throw new Error('TooManyRequestsException: Rate exceeded');
    });
    await expect(
      lambdaReconcileNow('recon', { client: c, lease: lease() })({ day: '2026-04-01' }),
    ).rejects.toThrow(/Rate exceeded/);
  });

  it('starts a (day, provider) at most once per hold across instances: 409 reconcile_running, nothing invoked (Lambda Invoke API mocked: an AWS control plane)', async () => {
    const c = client();
    const send = vi.spyOn(c, 'send').mockImplementation(async () => ({ StatusCode: 202, $metadata: {} }));
    let now = Date.parse('2026-06-01T10:00:00Z');
    // Two gateway instances: two ports, one lease table.
    const a = lambdaReconcileNow('recon', { client: c, lease: lease(), nowMs: () => now });
    const b = lambdaReconcileNow('recon', { client: c, lease: lease(), nowMs: () => now });
    await a({ day: '2026-06-01', provider: 'or' });
    const again = await b({ day: '2026-06-01', provider: 'or' }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ConflictError);
    expect(again).toMatchObject({ status: 409, code: 'reconcile_running' });
    expect(send).toHaveBeenCalledTimes(1);
    // Another provider, or every provider, of the day is another run.
    await b({ day: '2026-06-01' });
    expect(send).toHaveBeenCalledTimes(2);
    // Once the hold is over, the same run may start again.
    now += RUN_NOW_HOLD_MS + 1;
    await b({ day: '2026-06-01', provider: 'or' });
    expect(send).toHaveBeenCalledTimes(3);
    // The lease item expires through the table's TTL a day after its hold.
    const item = await conn.client.send(
      new GetItemCommand({
        TableName: conn.tableName(KEYS_TABLE),
        Key: { pk: { S: 'lease#reconcile-now#2026-06-01#or' } },
      }),
    );
    expect(Number(item.Item?.expiresAt?.N)).toBe(Math.floor((now + RUN_NOW_HOLD_MS) / 1000) + 86_400);
  });
});
