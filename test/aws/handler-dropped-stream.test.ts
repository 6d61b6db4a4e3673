/**
 * The gateway handler bundle when the runtime's connection for its streamed response drops (the runtime API
 * closes it: `socket hang up`). The shim reproduces what the Lambda runtime client does then
 * (support/awslambda-shim.ts): it rejects two promises of its own with that error and exits the process on
 * any unhandled rejection. The request must end (status 499 in the ledger) and the same instance must serve the
 * next request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import { USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import type { UsageRecord } from '../../functions/core/usage/types.ts';
import { DEFAULT_USAGE_SHARDS } from '../../functions/core/usage/types.ts';
import type { DynamoEndpoint } from '../support/dynamo-endpoint.ts';
import type { FakeOpenAI } from '../support/fake-openai.ts';
import type { ExecutionEnvironment } from './support/awslambda-shim.ts';
import {
  type Chunk,
  chat,
  type GatewayBundle,
  messages,
  PROMPT,
  sdk,
  startGatewayBundle,
} from './support/gateway-bundle.ts';

let conn: DynamoEndpoint;
let provider: FakeOpenAI;
let runtime: ExecutionEnvironment;
let frontOf: GatewayBundle['frontOf'];
let close: GatewayBundle['close'] | undefined;

beforeAll(async () => {
  ({ conn, provider, runtime, frontOf, close } = await startGatewayBundle());
});

afterAll(async () => close?.());

/** The ledger record of a request id, polled for up to 8 s (the record is written after the response). */
async function eventualRecord(requestId: string): Promise<UsageRecord | undefined> {
  const ledger = new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), {
    shards: DEFAULT_USAGE_SHARDS,
    retentionDays: 1,
  });
  const until = Date.now() + 8000;
  for (;;) {
    const now = Date.now();
    const records = await ledger.records(
      new Date(now - 60_000).toISOString(),
      new Date(now + 1000).toISOString(),
    );
    const found = records.find((r) => r.requestId === requestId);
    if (found !== undefined || now > until) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The next request on the same instance is answered in full. */
async function nextRequestIsServed(): Promise<void> {
  const front = frontOf('function-url');
  const answer = await chat(sdk(front));
  expect(answer.choices[0]?.message.content).toBe(`echo: ${PROMPT}`);
  expect(await front.invocations.at(-1)?.done).toMatchObject({ kind: 'success', endedByHandler: true });
}

describe('a dropped runtime connection (Lambda runtime mocked by an awslambda shim)', () => {
  it('mid-stream: the request ends as 499 in the ledger and the instance serves the next one', async () => {
    const front = frontOf('function-url');
    provider.enqueue({ chunkDelayMs: 40, chunkSize: 2 });
    const requestId = `dropped-mid-stream-${Date.now()}`;
    const stream = await sdk(front).chat.completions.create(
      { model: 'gpt-4o-mini', messages, stream: true },
      { headers: { 'x-request-id': requestId } },
    );
    const inv = front.invocations.at(-1);
    const got: Chunk[] = [];
    const reading = (async () => {
      for await (const c of stream) {
        got.push(c);
        if (got.length === 2) inv?.dropConnection();
      }
    })();
    // The client's connection is cut with the function's (the front relays the break).
    await expect(reading).rejects.toThrow();
    expect(got.length).toBeGreaterThanOrEqual(2);
    // The invocation failed (its response never completed) instead of hanging or killing the runtime.
    expect(await inv?.done).toMatchObject({ kind: 'error', error: { code: 'ECONNRESET' } });
    expect(runtime.fatalErrors).toEqual([]);
    // Drained for its usage (the route's default), then written: the provider bills the whole answer.
    expect(await eventualRecord(requestId)).toMatchObject({ status: 499, usageSource: 'provider' });
    await nextRequestIsServed();
    expect(runtime.fatalErrors).toEqual([]);
    expect(runtime.exited).toBe(false);
  });

  it('at the first write (the HTTP prelude): the request still ends, as 499 in the ledger', async () => {
    const front = frontOf('rest-api');
    provider.enqueue({ chunkDelayMs: 40, chunkSize: 2 });
    const requestId = `dropped-at-prelude-${Date.now()}`;
    runtime.dropNextAtWrite(1);
    await expect(
      sdk(front).chat.completions.create(
        { model: 'patient', messages, stream: true },
        { headers: { 'x-request-id': requestId } },
      ),
    ).rejects.toMatchObject({ status: 502 });
    const inv = front.invocations.at(-1);
    const outcome = await inv?.done;
    expect(outcome).toMatchObject({ kind: 'error', error: { code: 'ECONNRESET' } });
    expect(runtime.fatalErrors).toEqual([]);
    expect(await eventualRecord(requestId)).toMatchObject({ status: 499 });
    await nextRequestIsServed();
    expect(runtime.exited).toBe(false);
  });
});
