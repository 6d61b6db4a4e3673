/**
 * Stopping the local gateway as a process manager does: SIGTERM. Shutdown is bounded (the grace, then the
 * streams still open end with the SSE error event) and no ledger record is lost.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import { USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import { DEFAULT_USAGE_RETENTION_DAYS } from '../../functions/core/usage/types.ts';
import { openStore } from '../../functions/local/embedded-store.ts';
import { LOCAL_USAGE_SHARDS } from '../../functions/local/server.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { killAll, startServe } from '../support/serve-process.ts';

const MASTER = 'sk-sy-test-master-key-0123456789';
const GRACE_MS = 1_500;
let dir: string;
let data: string;
let fake: FakeOpenAI | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-stop-'));
  data = join(dir, 'data');
});
afterEach(async () => {
  killAll();
  await fake?.close();
  fake = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function ledgerRecords(): Promise<{ requestId: string; status: number }[]> {
  const conn = await openStore(data);
  try {
    const ledger = new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), {
      shards: LOCAL_USAGE_SHARDS,
      retentionDays: DEFAULT_USAGE_RETENTION_DAYS,
    });
    const hour = 3_600_000;
    return await ledger.records(
      new Date(Date.now() - hour).toISOString(),
      new Date(Date.now() + hour).toISOString(),
    );
  } finally {
    await conn.close();
  }
}

describe('SIGTERM with streams that never end', () => {
  it('ends them with the SSE error event after the grace, exits in bounded time, and keeps all 10 ledger records', async () => {
    // The upstream sends its role chunk and one content chunk, then nothing, ever (within the route's timers).
    fake = await startFakeOpenAI();
    fake.setDefault({ stallAfterChunks: 2 });
    await writeFile(
      join(dir, 'sy.yaml'),
      `providers:
  up: { type: openai, baseUrls: ["${fake.url}"] }
routes:
  endless:
    targets: [{ provider: up, model: gpt-4o-mini }]
    timeouts: { firstByteMs: 5000, idleMs: 600000, totalMs: 600000 }
    retry: { attempts: 0 }
    onClientDisconnect: drain
`,
    );
    const gw = await startServe({
      SWITCHYARD_DATA_DIR: data,
      SWITCHYARD_MASTER_KEY: MASTER,
      SWITCHYARD_CONFIG: join(dir, 'sy.yaml'),
      SWITCHYARD_PROVIDER_KEYS: '{"up":"sk-provider-key-for-the-fake-0001"}',
      SWITCHYARD_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    const streams = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const abort = new AbortController();
        const res = await fetch(`${gw.origin}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${MASTER}`,
            'content-type': 'application/json',
            'x-request-id': `endless-${i}`,
          },
          body: JSON.stringify({
            model: 'endless',
            stream: true,
            messages: [{ role: 'user', content: 'go' }],
          }),
          signal: abort.signal,
        });
        expect(res.status).toBe(200);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const first = await reader.read();
        return { abort, reader, text: new TextDecoder().decode(first.value) };
      }),
    );
    // Four clients leave: the gateway keeps draining their upstream (onClientDisconnect: drain).
    for (const s of streams.slice(0, 4)) s.abort.abort();
    await new Promise((r) => setTimeout(r, 300));

    const sentAt = performance.now();
    gw.child.kill('SIGTERM');
    const rest = await Promise.all(
      streams.slice(4).map(async (s) => {
        let text = s.text;
        for (;;) {
          const next = await s.reader.read();
          if (next.done) return text;
          text += new TextDecoder().decode(next.value);
        }
      }),
    );
    expect(await gw.exited).toBe(0);
    const tookMs = performance.now() - sentAt;
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(tookMs).toBeLessThan(GRACE_MS + 5_000);
    for (const text of rest) {
      expect(text).toContain('"code":"server_shutting_down"');
      expect(text).not.toContain('[DONE]');
    }

    const records = await ledgerRecords();
    const byId = new Map(records.map((r) => [r.requestId, r.status]));
    expect([...byId.keys()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `endless-${i}`).sort());
    for (let i = 0; i < 4; i++) expect(byId.get(`endless-${i}`)).toBe(499);
    for (let i = 4; i < 10; i++) expect(byId.get(`endless-${i}`)).toBe(503);
    expect(gw.stderr()).toContain('SIGTERM');
  }, 60_000);
});

describe('SIGTERM with a stream that ends inside the grace', () => {
  it('lets it finish normally ([DONE], ledger status 200) and exits without waiting out the grace', async () => {
    // The upstream sends its role chunk and one content chunk, pauses 800 ms, then the rest and [DONE].
    fake = await startFakeOpenAI();
    fake.setDefault({ stallAfterChunks: 2, stallMs: 800, content: 'one two three four' });
    await writeFile(
      join(dir, 'sy.yaml'),
      `providers:
  up: { type: openai, baseUrls: ["${fake.url}"] }
routes:
  short:
    targets: [{ provider: up, model: gpt-4o-mini }]
    retry: { attempts: 0 }
`,
    );
    const graceMs = 10_000;
    const gw = await startServe({
      SWITCHYARD_DATA_DIR: data,
      SWITCHYARD_MASTER_KEY: MASTER,
      SWITCHYARD_CONFIG: join(dir, 'sy.yaml'),
      SWITCHYARD_PROVIDER_KEYS: '{"up":"sk-provider-key-for-the-fake-0001"}',
      SWITCHYARD_SHUTDOWN_GRACE_MS: String(graceMs),
    });
    const res = await fetch(`${gw.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${MASTER}`,
        'content-type': 'application/json',
        'x-request-id': 'short-0',
      },
      body: JSON.stringify({ model: 'short', stream: true, messages: [{ role: 'user', content: 'go' }] }),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value, { stream: true });

    // SIGTERM while the upstream pauses mid-answer: the stream is open and well inside the grace.
    const sentAt = performance.now();
    gw.child.kill('SIGTERM');
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      text += decoder.decode(next.value, { stream: true });
    }
    expect(await gw.exited).toBe(0);
    expect(performance.now() - sentAt).toBeLessThan(graceMs - 2_000);
    expect(text).toContain('data: [DONE]');
    expect(text).toContain('"finish_reason":"stop"');
    expect(text).not.toContain('server_shutting_down');

    const records = await ledgerRecords();
    expect(records.map((r) => [r.requestId, r.status])).toEqual([['short-0', 200]]);
    expect(gw.stderr()).toContain('SIGTERM');
  }, 60_000);
});
