/**
 * The admin API's run-now on the Lambda path: the gateway handler bundle in the Lambda harness (runtime mocked
 * by a shim), via a function URL event. The bundle hands the run to the reconciler function with an
 * asynchronous invoke that the harness's Lambda Invoke API (mocked: an AWS control plane) records.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileNowEventSchema } from '../../functions/aws/reconcile-now-event.ts';
import { shiftDay } from '../../functions/core/days.ts';
import { LAMBDA_SIDE_FILE } from '../../lib/handler-bundling.ts';
import {
  type GatewayBundle,
  MASTER,
  RECONCILER_FUNCTION,
  startGatewayBundle,
} from './support/gateway-bundle.ts';

let bundle: GatewayBundle;

beforeAll(async () => {
  bundle = await startGatewayBundle();
});
afterAll(async () => bundle?.close());

const post = async (body: string, key: string | null = MASTER) => {
  const r = await fetch(`${bundle.frontOf('function-url').baseURL}/admin/v1/billing/reconcile`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    },
    body,
  });
  return { status: r.status, json: JSON.parse(await r.text()) as Record<string, unknown> };
};

describe('POST /admin/v1/billing/reconcile on the gateway Lambda', () => {
  it('keeps the Lambda SDK out of the bundle: a side file beside it, imported at the first run (module init does not grow)', async () => {
    const text = await readFile(bundle.bundleFile, 'utf8');
    expect(text).toContain(`import("./${LAMBDA_SIDE_FILE}")`);
    expect(text).not.toContain('/2015-03-31/functions/');
    expect(await readFile(join(dirname(bundle.bundleFile), LAMBDA_SIDE_FILE), 'utf8')).toContain(
      'InvokeCommand',
    );
  });

  it('invokes the reconciler asynchronously with the day and provider and answers 202 started (Lambda Invoke API mocked: an AWS control plane)', async () => {
    const day = shiftDay(new Date().toISOString().slice(0, 10), -1);
    const r = await post(JSON.stringify({ day, provider: 'openai' }));
    expect(r).toEqual({
      status: 202,
      json: { object: 'reconcile.run', status: 'started', day, provider: 'openai' },
    });
    expect(bundle.lambdaApi.invokes).toEqual([
      {
        functionName: RECONCILER_FUNCTION,
        invocationType: 'Event',
        signed: true,
        payload: { switchyard: 'reconcile-now', day, provider: 'openai' },
      },
    ]);
    // What the reconciler handler parses (functions/aws/reconciler-handler.ts).
    expect(reconcileNowEventSchema.safeParse(bundle.lambdaApi.invokes[0]?.payload).success).toBe(true);
    // No body fields: today, every provider.
    const all = await post('{}');
    expect(all.json).toMatchObject({
      status: 'started',
      day: new Date().toISOString().slice(0, 10),
      provider: null,
    });
    expect(bundle.lambdaApi.invokes[1]?.payload).toEqual({ switchyard: 'reconcile-now', day: all.json.day });
    // The same run again at once: 409, nothing invoked (its lease in the keys table holds 2 minutes).
    const twice = await post(JSON.stringify({ day, provider: 'openai' }));
    expect([twice.status, (twice.json.error as { code: string }).code]).toEqual([409, 'reconcile_running']);
    expect(bundle.lambdaApi.invokes).toHaveLength(2);
  });

  it('invokes nothing for a body it refuses, nor without a key (Lambda Invoke API mocked: an AWS control plane)', async () => {
    const before = bundle.lambdaApi.invokes.length;
    const unknown = await post(JSON.stringify({ provider: 'nowhere' }));
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ code: 'invalid_request', param: 'provider' });
    expect((await post('{}', null)).status).toBe(401);
    expect(bundle.lambdaApi.invokes.length).toBe(before);
  });
});
