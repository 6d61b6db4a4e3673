/**
 * Shared target health against dynalite: transitions (the latest wins), moving averages, the half-open probe's
 * claim, expiry, batched reads — and two HealthBoards (two gateway instances) sharing one breaker through it.
 */
import { BatchGetItemCommand, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoHealthStore,
  MAX_TARGET_ID_LENGTH,
} from '../../../functions/aws/stores/dynamo-health-store.ts';
import type { TargetConfig } from '../../../functions/core/config/schema.ts';
import type { Clock, LogLevel } from '../../../functions/core/ports.ts';
import {
  CLAIM_CAP_MS,
  DEFAULT_HEALTH,
  HealthBoard,
  type HealthStore,
} from '../../../functions/core/routing/health.ts';
import { KEYS_TABLE } from '../../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const DAY = 86_400_000;

let conn: StoreConnection;
let table: string;

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  table = conn.tableName(KEYS_TABLE);
});
afterAll(async () => conn.close());

class TestClock implements Clock {
  constructor(public t = T0) {}
  now(): number {
    return this.t;
  }
  epochMs(): number {
    return this.t;
  }
}

/** The client, counting the BatchGetItem calls that pass through it. */
function counting(real: DynamoDBClient): { client: DynamoDBClient; batchGets: () => number } {
  let n = 0;
  const send = (command: Parameters<DynamoDBClient['send']>[0]) => {
    if (command instanceof BatchGetItemCommand) n++;
    return real.send(command);
  };
  return { client: { send } as unknown as DynamoDBClient, batchGets: () => n };
}

function storeAt(clock: TestClock, ttlMs?: number): DynamoHealthStore {
  return new DynamoHealthStore(conn.client, table, { clock, ...(ttlMs === undefined ? {} : { ttlMs }) });
}

async function rawItem(id: string): Promise<Record<string, unknown> | undefined> {
  const res = await conn.client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: `health#${id}` } }, ConsistentRead: true }),
  );
  return res.Item;
}

describe('DynamoHealthStore', () => {
  it('reads nothing for targets never written', async () => {
    const store = storeAt(new TestClock());
    expect((await store.read([])).size).toBe(0);
    expect((await store.read(['none/a', 'none/b', 'none/a'])).size).toBe(0);
  });

  it('reads back a transition, with an expiry a day later in epoch seconds', async () => {
    const clock = new TestClock();
    const store = storeAt(clock);
    await store.transition('p/t1', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    const found = await store.read(['p/t1', 'p/other']);
    expect([...found.keys()]).toEqual(['p/t1']);
    expect(found.get('p/t1')).toEqual({ openUntil: T0 + 30_000, reason: 'breaker', at: T0, fails: 0 });
    expect(await rawItem('p/t1')).toMatchObject({ expiresAt: { N: String((T0 + DAY) / 1000) } });
  });

  it('keeps a later transition over an older one written after it', async () => {
    const store = storeAt(new TestClock());
    await store.transition('p/t2', { openUntil: 0, reason: 'closed', at: T0 + 5_000 });
    await store.transition('p/t2', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    await store.transition('p/t2', { openUntil: T0 + 60_000, reason: 'quota', at: T0 + 5_000 }); // same `at`
    expect((await store.read(['p/t2'])).get('p/t2')).toEqual({
      openUntil: 0,
      reason: 'closed',
      at: T0 + 5_000,
      fails: 0,
    });
    await store.transition('p/t2', { openUntil: T0 + 90_000, reason: 'rate_limited', at: T0 + 6_000 });
    expect((await store.read(['p/t2'])).get('p/t2')).toEqual({
      openUntil: T0 + 90_000,
      reason: 'rate_limited',
      at: T0 + 6_000,
      fails: 0,
    });
  });

  it('writes moving averages (only those given, last writer wins) beside the transition', async () => {
    const clock = new TestClock();
    const store = storeAt(clock);
    await store.speeds('p/t3', {});
    expect(await rawItem('p/t3')).toBeUndefined();
    await store.speeds('p/t3', { latencyMs: 800 });
    expect((await store.read(['p/t3'])).get('p/t3')).toEqual({ latencyMs: 800 });
    await store.transition('p/t3', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    clock.t = T0 + 10_000;
    await store.speeds('p/t3', { ttftMs: 120 });
    await store.speeds('p/t3', { latencyMs: 650 });
    expect((await store.read(['p/t3'])).get('p/t3')).toEqual({
      openUntil: T0 + 30_000,
      reason: 'breaker',
      at: T0,
      latencyMs: 650,
      ttftMs: 120,
      fails: 0,
    });
    // Every write pushes the expiry on.
    expect(await rawItem('p/t3')).toMatchObject({ expiresAt: { N: String((T0 + 10_000 + DAY) / 1000) } });
  });

  it('gives a probe to one caller until its hold runs out, and again for a new transition', async () => {
    const clock = new TestClock(T0 + 30_000);
    const store = storeAt(clock);
    await store.transition('p/t4', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    const first = await Promise.all([1, 2, 3].map(() => store.claimProbe('p/t4', T0, 10_000)));
    expect(first.filter(Boolean)).toHaveLength(1);
    clock.t = T0 + 39_000;
    expect(await store.claimProbe('p/t4', T0, 10_000)).toBe(false);
    clock.t = T0 + 40_001; // the first probe hung: another may take it
    expect(await store.claimProbe('p/t4', T0, 10_000)).toBe(true);
    expect(await store.claimProbe('p/t4', T0, 10_000)).toBe(false);
    // The probe failed and opened the breaker again: its next probe is a new claim.
    expect(await store.claimProbe('p/t4', T0 + 40_500, 10_000)).toBe(true);
    expect(await store.claimProbe('p/t4', T0 + 40_500, 10_000)).toBe(false);
    // A probe that ended with no verdict frees its claim (only its own transition's).
    await store.releaseProbe('p/t4', T0);
    expect(await store.claimProbe('p/t4', T0 + 40_500, 10_000)).toBe(false);
    await store.releaseProbe('p/t4', T0 + 40_500);
    expect(await store.claimProbe('p/t4', T0 + 40_500, 10_000)).toBe(true);
    // A claim on a target with no item yet creates it.
    expect(await store.claimProbe('p/t4-new', T0, 10_000)).toBe(true);
    expect(await store.claimProbe('p/t4-new', T0, 10_000)).toBe(false);
  });

  it('ignores items past their expiry (DynamoDB deletes them late)', async () => {
    const clock = new TestClock();
    const store = storeAt(clock, 60_000);
    await store.transition('p/t5', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    clock.t = T0 + 59_999;
    expect((await store.read(['p/t5'])).has('p/t5')).toBe(true);
    clock.t = T0 + 60_000;
    expect((await store.read(['p/t5'])).has('p/t5')).toBe(false);
    expect(await rawItem('p/t5')).toBeDefined();
  });

  it('ignores target ids over the bound: never written, never read, probed without a claim', async () => {
    const store = storeAt(new TestClock());
    const long = `p/${'m'.repeat(MAX_TARGET_ID_LENGTH)}`;
    const edge = `p/${'m'.repeat(MAX_TARGET_ID_LENGTH - 2)}`;
    await store.transition(long, { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    await store.speeds(long, { latencyMs: 5 });
    expect(await store.claimProbe(long, T0, 10_000)).toBe(true);
    expect(await store.claimProbe(long, T0, 10_000)).toBe(true);
    expect(await rawItem(long)).toBeUndefined();
    await store.transition(edge, { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    const found = await store.read([long, edge]);
    expect([...found.keys()]).toEqual([edge]);
  });

  it('reads 150 targets in two BatchGetItem calls', async () => {
    const writer = storeAt(new TestClock());
    const ids = Array.from({ length: 150 }, (_, i) => `many/m${i}`);
    await Promise.all(ids.map((id, i) => writer.speeds(id, { latencyMs: i + 1 })));
    const { client, batchGets } = counting(conn.client);
    const reader = new DynamoHealthStore(client, table, { clock: new TestClock() });
    const found = await reader.read([...ids, ...ids.slice(0, 20), 'many/absent']);
    expect(batchGets()).toBe(2);
    expect(found.size).toBe(150);
    for (const [i, id] of ids.entries()) expect(found.get(id)).toEqual({ latencyMs: i + 1 });
  });
});

describe('two HealthBoards sharing a DynamoHealthStore', () => {
  it('share a breaker: opened on one, honoured by the other, probed once, closed for both', async () => {
    const clock = new TestClock();
    const store = storeAt(clock);
    const lines: { level: LogLevel; message: string; fields: Record<string, unknown> }[] = [];
    const pending: Promise<unknown>[] = [];
    const settle = async () => {
      while (pending.length > 0) await Promise.all(pending.splice(0));
    };
    const board = () =>
      new HealthBoard({
        store,
        clock,
        logger: { log: (level, message, fields) => lines.push({ level, message, fields }) },
        track: (task) => pending.push(task),
      });
    const a = board();
    const b = board();
    const targets: TargetConfig[] = [
      { provider: 'pa', model: 'shared' },
      { provider: 'pb', model: 'other' },
    ];
    const cfg = () => DEFAULT_HEALTH;
    const order = (board: HealthBoard) => board.plan(targets, cfg).map((p) => [p.id, p.status]);

    expect(order(b)).toEqual([
      ['pa/shared', 'healthy'],
      ['pb/other', 'healthy'],
    ]);
    await settle();

    const attempt = (id: string, ms: number) => ({
      id,
      provider: id.split('/')[0] as string,
      cfg: DEFAULT_HEALTH,
      startedAt: clock.t,
      ms,
      stream: false,
    });
    for (let i = 0; i < 5; i++) a.failure(attempt('pa/shared', 2_000), { kind: 'timeout' });
    expect(a.view('pa/shared').status).toBe('open');
    expect(lines.map((l) => l.message)).toEqual(['target skipped']);
    await settle();

    clock.t += 1_000; // B's view is a second old: the next plan re-reads it in the background
    expect(order(b)).toEqual([
      ['pa/shared', 'healthy'],
      ['pb/other', 'healthy'],
    ]);
    await settle();
    expect(order(b)).toEqual([
      ['pb/other', 'healthy'],
      ['pa/shared', 'open'],
    ]);
    expect(b.view('pa/shared')).toMatchObject({ status: 'open', reason: 'breaker', openUntil: T0 + 30_000 });

    clock.t = T0 + DEFAULT_HEALTH.cooldownMs; // cool-down over: half-open on both
    expect(a.view('pa/shared').status).toBe('half-open');
    expect(b.view('pa/shared').status).toBe('half-open');
    const claims = await Promise.all([a.claimProbe('pa/shared', 10_000), b.claimProbe('pa/shared', 10_000)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    const [prober, other] = claims[0] ? [a, b] : [b, a];
    expect(await other.claimProbe('pa/shared', 10_000)).toBe(false);

    prober.success(attempt('pa/shared', 420));
    expect(prober.view('pa/shared').status).toBe('healthy');
    await settle();
    clock.t += 1_000;
    order(other);
    await settle();
    expect(order(other)).toEqual([
      ['pa/shared', 'healthy'],
      ['pb/other', 'healthy'],
    ]);
    expect(other.view('pa/shared')).toMatchObject({ status: 'healthy', reason: 'closed' });
    // A's five 2 s timeouts weigh on its average (2,000 ms); a probe of 420 ms moves it to 1,684 ms. B (when
    // the other) reads what A wrote; A (when the other) keeps its own.
    expect(other.view('pa/shared').latencyMs).toBe(prober === a ? 1_684 : 2_000);
    expect(lines.map((l) => l.message)).toEqual(['target skipped', 'target healthy again']);
    expect(lines.some((l) => l.message.startsWith('health store failed'))).toBe(false);
  });
});

/** Gateway instances (boards) on one store, with their background work tracked so a test can settle it. */
function fleet(clock: TestClock, store: HealthStore = storeAt(clock)) {
  const lines: { level: LogLevel; message: string; fields: Record<string, unknown> }[] = [];
  const pending: Promise<unknown>[] = [];
  const board = () =>
    new HealthBoard({
      store,
      clock,
      logger: { log: (level, message, fields) => lines.push({ level, message, fields }) },
      track: (task) => pending.push(task),
    });
  const settle = async () => {
    while (pending.length > 0) await Promise.all(pending.splice(0));
  };
  const attempt = (id: string, ms = 100) => ({
    id,
    provider: id.split('/')[0] as string,
    cfg: DEFAULT_HEALTH,
    startedAt: clock.t,
    ms,
    stream: false,
  });
  return { board, settle, attempt, lines };
}

describe('the fleet counts failures together (Lambda: one request per instance)', () => {
  it('five instances, one timeout each: the fifth failure opens the breaker for all', async () => {
    const clock = new TestClock();
    const { board, settle, attempt, lines } = fleet(clock);
    const boards = [1, 2, 3, 4, 5].map(board);
    for (const b of boards) b.failure(attempt('pf/five', 30_000), { kind: 'timeout' });
    await settle();
    // No instance saw five of its own, yet one of them opened it on the shared count.
    const opened = lines.filter((l) => l.message === 'target skipped');
    expect(opened).toHaveLength(1);
    expect((opened[0]?.fields.health as { cause?: string } | undefined)?.cause).toMatch(
      /^5 consecutive failures across instances/,
    );
    expect((await storeAt(clock).read(['pf/five'])).get('pf/five')).toMatchObject({
      reason: 'breaker',
      fails: 0,
    });
    // The others honour it on their next read.
    clock.t += 1_000;
    const other = boards.find((b) => b.view('pf/five').status === 'healthy') as HealthBoard;
    other.plan([{ provider: 'pf', model: 'five' }], () => DEFAULT_HEALTH);
    await settle();
    expect(other.view('pf/five').status).toBe('open');
  });

  it('a success anywhere that knows of failures zeroes the shared count (at most once a second per instance)', async () => {
    const clock = new TestClock();
    const { board, settle, attempt } = fleet(clock);
    const [x, y] = [board(), board()];
    for (let i = 0; i < 4; i++) x.failure(attempt('pf/reset', 500), { kind: 'server', status: 503 });
    await settle();
    x.success(attempt('pf/reset', 90));
    await settle();
    expect((await storeAt(clock).read(['pf/reset'])).get('pf/reset')?.fails).toBe(0);
    // Four more failures on the other instance do not reach five.
    for (let i = 0; i < 4; i++) y.failure(attempt('pf/reset', 500), { kind: 'server', status: 503 });
    await settle();
    expect(y.view('pf/reset').status).toBe('healthy');
    expect((await storeAt(clock).read(['pf/reset'])).get('pf/reset')?.fails).toBe(4);
  });

  it("a fresh instance's first plan waits for the shared view: it never walks into a known outage", async () => {
    const clock = new TestClock();
    const { board, settle } = fleet(clock);
    await storeAt(clock).transition('pf/known', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 - 1 });
    const fresh = board();
    const ids = ['pf/known', 'pf/ok'];
    const waiting = fresh.ready(ids);
    expect(waiting).toBeInstanceOf(Promise);
    await waiting;
    const targets = [
      { provider: 'pf', model: 'known' },
      { provider: 'pf', model: 'ok' },
    ];
    expect(fresh.plan(targets, () => DEFAULT_HEALTH).map((p) => `${p.id}:${p.status}`)).toEqual([
      'pf/ok:healthy',
      'pf/known:open',
    ]);
    // Once read, there is nothing more to wait for.
    expect(fresh.ready(ids)).toBeUndefined();
    await settle();
  });

  it("a clock behind the fleet's still writes a transition that wins (at: past the one it knows)", async () => {
    const clock = new TestClock(T0 + 5_000);
    const { board, settle, attempt } = fleet(clock);
    const ahead = board();
    for (let i = 0; i < 5; i++) ahead.failure(attempt('pf/skew'), { kind: 'timeout' });
    await settle();
    clock.t = T0; // the next instance's clock is 5 s behind
    const behind = board();
    await behind.ready(['pf/skew']);
    behind.failure(attempt('pf/skew'), { kind: 'rate_limited', status: 429, retryAfterMs: 60_000 });
    await settle();
    expect((await storeAt(clock).read(['pf/skew'])).get('pf/skew')).toMatchObject({
      reason: 'rate_limited',
      at: T0 + 5_001,
    });
  });
});

describe('the probe claim on a store that does not answer (the store client hangs: an AWS outage)', () => {
  it('is given up after CLAIM_CAP_MS: the instance probes on its own view', async () => {
    const clock = new TestClock();
    const hung = new DynamoHealthStore(
      { send: () => new Promise(() => undefined) } as unknown as DynamoDBClient,
      table,
      { clock },
    );
    const board = new HealthBoard({ store: hung, clock, logger: { log: () => undefined } });
    for (let i = 0; i < 5; i++)
      board.failure(
        { id: 'ph/m', provider: 'ph', cfg: DEFAULT_HEALTH, startedAt: clock.t, ms: 1, stream: false },
        { kind: 'timeout' },
      );
    clock.t += DEFAULT_HEALTH.cooldownMs;
    const verdict = await Promise.race([
      board.claimProbe('ph/m', 10_000),
      new Promise((r) => setTimeout(r, 5 * CLAIM_CAP_MS, 'still waiting')),
    ]);
    expect(verdict).toBe(true);
    // And a request whose signal ends stops waiting at once.
    clock.t += 20_000;
    const gone = AbortSignal.abort();
    board.release('ph/m');
    const cut = await Promise.race([
      board.claimProbe('ph/m', 10_000, gone),
      new Promise((r) => setTimeout(r, CLAIM_CAP_MS / 3, 'still waiting')),
    ]);
    expect(cut).toBe(true);
  });

  it('frees a claim whose probe ended with no verdict, for another instance', async () => {
    const clock = new TestClock();
    const { board, settle, attempt } = fleet(clock);
    const [x, y] = [board(), board()];
    for (let i = 0; i < 5; i++) x.failure(attempt('pr/m'), { kind: 'timeout' });
    await settle();
    clock.t += DEFAULT_HEALTH.cooldownMs + 1_000;
    await y.ready(['pr/m']);
    expect(await x.claimProbe('pr/m', 60_000)).toBe(true);
    expect(await y.claimProbe('pr/m', 60_000)).toBe(false);
    x.failure(attempt('pr/m'), { kind: 'bad_request', status: 400 });
    await settle();
    clock.t += 1;
    const z = board();
    await z.ready(['pr/m']);
    expect(await z.claimProbe('pr/m', 60_000)).toBe(true);
  });
});
