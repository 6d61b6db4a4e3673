/**
 * The Lambda host's run-now port (functions/aws/reconcile-invoker.ts) on its own: the InvokeCommand it sends,
 * with the Lambda client's `send` mocked (an AWS control plane).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it, vi } from 'vitest';
import { lambdaReconcileNow } from '../../functions/aws/reconcile-invoker.ts';
import { reconcileNowEventSchema } from '../../functions/aws/reconcile-now-event.ts';

const client = () =>
  new LambdaClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
  });

describe('lambdaReconcileNow', () => {
  it('sends one asynchronous Invoke of the reconciler with the run-now event (Lambda Invoke API mocked: an AWS control plane)', async () => {
    const c = client();
    const send = vi.spyOn(c, 'send').mockImplementation(async () => ({ StatusCode: 202, $metadata: {} }));
    const run = lambdaReconcileNow('arn:aws:lambda:us-east-1:123456789012:function:recon', { client: c });
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
    await expect(lambdaReconcileNow('recon', { client: c })({ day: '2026-05-01' })).rejects.toThrow(
      /Rate exceeded/,
    );
  });
});
