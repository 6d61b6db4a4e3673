/**
 * What the gateway handler bundle in the Lambda harness (support/gateway-bundle.ts) leaves behind: EMF
 * metrics and log lines (with no key or prompt in them), and the usage ledger's records.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import { newClientKey } from '../../functions/core/keys/client-keys.ts';
import { maskedForm } from '../../functions/core/secrets.ts';
import { KEYS_TABLE, USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import { DEFAULT_USAGE_SHARDS } from '../../functions/core/usage/types.ts';
import type { DynamoEndpoint } from '../support/dynamo-endpoint.ts';
import type { FunctionLogs } from './support/function-env.ts';
import {
  chat,
  type GatewayBundle,
  MASTER,
  messages,
  PROMPT,
  PROVIDER_KEY,
  SERVICE,
  sdk,
  startGatewayBundle,
  streamText,
} from './support/gateway-bundle.ts';

let conn: DynamoEndpoint;
let logs: FunctionLogs;
let provider: GatewayBundle['provider'];
let frontOf: GatewayBundle['frontOf'];
let close: GatewayBundle['close'] | undefined;
const emfCount = (): number => logs.json().filter((l) => '_aws' in l && 'Requests' in l).length;

beforeAll(async () => {
  ({ conn, logs, frontOf, close, provider } = await startGatewayBundle());
});

afterAll(async () => close?.());

describe('observability of the bundle (Lambda runtime mocked by an awslambda shim)', () => {
  it('writes EMF metrics before the invocation resolves and logs no key or prompt', async () => {
    const before = emfCount();
    const front = frontOf('function-url');
    const { response } = await chat(sdk(front)).withResponse();
    await front.invocations.at(-1)?.done;
    expect(emfCount()).toBe(before + 1);
    const emf = logs.json().filter((l) => '_aws' in l && 'Requests' in l);
    expect(JSON.stringify(emf.at(-1))).toContain('"Namespace":"Switchyard"');
    const requestId = response.headers.get('x-request-id') ?? '';
    expect(logs.json().some((l) => JSON.stringify(l).includes(requestId))).toBe(true);
    const all = logs.lines.join('\n');
    expect(all).not.toContain(MASTER);
    expect(all).not.toContain(PROVIDER_KEY);
    expect(all).not.toContain(PROMPT);
  });

  it('masks a provider key the upstream echoes, by its value, in the answer and in every log line', async () => {
    provider.enqueue({ status: 400, errorCode: 'bad_param', errorMessage: `bad value for ${PROVIDER_KEY}` });
    const front = frontOf('function-url');
    const err = await chat(sdk(front)).then(
      () => undefined,
      (e: unknown) => e,
    );
    await front.invocations.at(-1)?.done;
    expect(err).toMatchObject({
      status: 400,
      message: expect.stringContaining(`bad value for ${maskedForm(PROVIDER_KEY)}`),
    });
    expect(JSON.stringify(err)).not.toContain(PROVIDER_KEY);
    expect(logs.lines.join('\n')).not.toContain(PROVIDER_KEY);
  });

  it("writes the request's ledger record and honours client keys from the keys table", async () => {
    const key = newClientKey({ name: 'lambda-app', models: ['gpt-4o-mini'] });
    await new DynamoKeyRepo(conn.client, conn.tableName(KEYS_TABLE)).put(key.record);
    const front = frontOf('function-url');
    const client = sdk(front, key.key);
    const { response } = await chat(client).withResponse();
    await front.invocations.at(-1)?.done;
    const requestId = response.headers.get('x-request-id') ?? '';
    const ledger = new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), {
      shards: DEFAULT_USAGE_SHARDS,
      retentionDays: 1,
    });
    const now = Date.now();
    const records = await ledger.records(
      new Date(now - 60_000).toISOString(),
      new Date(now + 1000).toISOString(),
    );
    const mine = records.filter((r) => r.requestId === requestId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      keyId: key.record.id,
      route: 'gpt-4o-mini',
      status: 200,
      usageSource: 'provider',
    });
    expect(mine[0]?.inputTokens).toBeGreaterThan(0);
    await expect(client.chat.completions.create({ model: 'patient', messages })).rejects.toMatchObject({
      status: 403,
      code: 'model_not_allowed',
    });
  });

  it('resolves the invocation without waiting for a ledger batch to fill (no billed flush delay)', async () => {
    // The local server lets records wait up to 100 ms for company; on Lambda that wait would be billed.
    const front = frontOf('function-url');
    const tails: number[] = [];
    for (let i = 0; i < 5; i++) {
      await chat(sdk(front));
      const answered = performance.now();
      await front.invocations.at(-1)?.done;
      tails.push(performance.now() - answered);
    }
    expect(Math.min(...tails)).toBeLessThan(90);
  });

  it('logs each request with its own request id as the correlation id', async () => {
    const client = sdk(frontOf('rest-api'));
    await streamText(client);
    const { response } = await chat(client).withResponse();
    await frontOf('rest-api').invocations.at(-1)?.done;
    const line = logs
      .json()
      .find((l) => 'requestId' in l && l.requestId === response.headers.get('x-request-id'));
    expect(line?.correlation_id).toBe(line?.requestId);
  });

  it('gives every EMF metric of a request its Route and Provider dimensions, and files it by Endpoint', async () => {
    const before = logs.json().length;
    await chat(sdk(frontOf('function-url')));
    await frontOf('function-url').invocations.at(-1)?.done;
    const metricNames = (l: Record<string, unknown>) =>
      Object.keys(l).filter((k) => !['_aws', 'service'].includes(k));
    const emf = logs
      .json()
      .slice(before)
      .filter((l) => '_aws' in l);
    // One EMF line per request carries all of its metrics (Errors, with ErrorCode, would add one more).
    expect(emf.length).toBeGreaterThanOrEqual(1);
    expect(metricNames(emf[0] ?? {})).toEqual(
      expect.arrayContaining(['Requests', 'Latency', 'UpstreamLatency']),
    );
    const undimensioned = emf.filter((l) => l.Route !== 'gpt-4o-mini' || l.Provider !== 'openai');
    expect(undimensioned.map(metricNames)).toEqual([]);
    // A second dimension set of the same line: {service, Endpoint}, the per-endpoint dashboard row's.
    expect(emf.map((l) => l.Endpoint)).toEqual(emf.map(() => 'chat'));
    expect(JSON.stringify(emf[0]?._aws)).toContain('["service","Endpoint"]');
    // The `service` dimension is the stack's (its POWERTOOLS_SERVICE_NAME), so stacks never share a series.
    expect(emf.map((l) => l.service)).toEqual(emf.map(() => SERVICE));
  });

  it('counts usage that cannot be true in an ImplausibleUsage metric and logs it as an error', async () => {
    const before = logs.json().length;
    provider.enqueue({ usage: { prompt_tokens: 12, completion_tokens: 1e15 } });
    const front = frontOf('function-url');
    const { response } = await sdk(front)
      .chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 5 })
      .withResponse();
    await front.invocations.at(-1)?.done;
    const requestId = response.headers.get('x-request-id');
    const lines = logs.json().slice(before);
    expect(lines.filter((l) => '_aws' in l && l.ImplausibleUsage === 1)).toHaveLength(1);
    const error = lines.find((l) => l.message === 'implausible usage');
    expect(error).toMatchObject({ level: 'ERROR', requestId, outputTokens: 1e15 });
  });
});
