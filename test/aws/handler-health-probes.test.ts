/**
 * Active health probes on the Lambda path: the gateway handler bundle in the Lambda harness (runtime mocked by a
 * shim), invoked with the event the stack's schedule sends (lib/health-probes.ts). It probes the `probed` route
 * of the harness config (`health.probeEveryMs`), writes the probe's ledger record before the invocation ends,
 * and logs the round; an HTTP request carrying the same JSON as its body is just a request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE_EVENT, PROBE_KEY_ID } from '../../functions/core/gateway/probes.ts';
import { type GatewayBundle, MASTER, startGatewayBundle } from './support/gateway-bundle.ts';

let bundle: GatewayBundle;

beforeAll(async () => {
  bundle = await startGatewayBundle();
});
afterAll(async () => bundle?.close());

const probesSent = () =>
  bundle.provider.requests.filter((r) => (r.body as { model?: string }).model === 'upstream-probed');

describe('the probe event on the gateway Lambda (runtime mocked by a shim)', () => {
  it('an HTTP request whose body is the probe event is a request like any other (it probes nothing)', async () => {
    // First, before any probe round: a probe here would be the only one.
    const before = probesSent().length;
    expect(before).toBe(0);
    const res = await fetch(`${bundle.frontOf('function-url').baseURL}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify(PROBE_EVENT),
    });
    expect(res.status).toBe(404);
    expect(probesSent()).toHaveLength(before);
  });
  it('probes the due targets, with the ledger record written before the invocation ends', async () => {
    bundle.usageStream.take();
    const outcome = await bundle.runtime.invoke(PROBE_EVENT).done;
    expect(outcome).toMatchObject({ kind: 'success' });
    expect(probesSent()).toHaveLength(1);
    expect(probesSent()[0]?.body).toMatchObject({ max_tokens: 1 });
    const puts = bundle.usageStream.take();
    expect(puts).toHaveLength(1);
    const doc = JSON.parse(
      (puts[0]?.dynamodb?.NewImage?.doc as { S?: string } | undefined)?.S ?? '{}',
    ) as Record<string, unknown>;
    expect(doc).toMatchObject({
      keyId: PROBE_KEY_ID,
      route: 'probed',
      model: 'upstream-probed',
      status: 200,
    });
    const round = bundle.logs.json().find((l) => l.message === 'health probes');
    expect(round?.probes).toEqual([
      { route: 'probed', target: 'openai/upstream-probed', status: 200, requestId: expect.any(String) },
    ]);
  });

  it('a warm instance probes a target at most once per its probeEveryMs', async () => {
    const before = probesSent().length;
    expect(await bundle.runtime.invoke(PROBE_EVENT).done).toMatchObject({ kind: 'success' });
    expect(probesSent()).toHaveLength(before);
  });
});
