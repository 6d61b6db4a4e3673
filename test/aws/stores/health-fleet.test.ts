/**
 * HealthBoards — gateway instances — sharing one DynamoHealthStore on dynalite: a breaker opened by one and
 * honoured by the other, the fleet's failure count (Lambda: one request per instance), a fresh instance's
 * first read, clock skew, and the probe claim when the store hangs or the probe ends with no verdict.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoHealthStore } from '../../../functions/aws/stores/dynamo-health-store.ts';
import type { TargetConfig } from '../../../functions/core/config/schema.ts';
import { CLAIM_CAP_MS, DEFAULT_HEALTH, HealthBoard } from '../../../functions/core/routing/health.ts';
import { KEYS_TABLE } from '../../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';
import { fleet as fleetOn, T0, TestClock } from './health-rig.ts';

let conn: StoreConnection;
let table: string;

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  table = conn.tableName(KEYS_TABLE);
});
afterAll(async () => conn.close());

const storeAt = (clock: TestClock) => new DynamoHealthStore(conn.client, table, { clock });
const fleet = (clock: TestClock) => fleetOn(clock, storeAt(clock));

describe('two HealthBoards sharing a DynamoHealthStore', () => {
  it('share a breaker: opened on one, honoured by the other, probed once, closed for both', async () => {
    const clock = new TestClock();
    const { board, settle, attempt, lines } = fleet(clock);
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

  it('a busy instance judges by its own failure rate: a small error rate never opens it on the shared count', async () => {
    const clock = new TestClock();
    const { board, settle, attempt, lines } = fleet(clock);
    const busy = board();
    // 1 s of traffic at 200 req/s with 5 % 503s: five failures land within the second, no five in a row.
    for (let i = 0; i < 200; i++) {
      if (i % 20 === 19) busy.failure(attempt('pf/busy', 40), { kind: 'server', status: 503 });
      else busy.success(attempt('pf/busy', 40));
      await settle();
      clock.t += 5;
    }
    expect(busy.view('pf/busy').status).toBe('healthy');
    expect(lines.filter((l) => l.message === 'target skipped')).toEqual([]);
    // The shared count did reach the threshold: only the instance's own evidence kept it closed.
    expect((await storeAt(clock).read(['pf/busy'])).get('pf/busy')?.fails).toBeGreaterThanOrEqual(5);
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
    x.failure({ ...attempt('pr/m'), probe: true }, { kind: 'bad_request', status: 400 });
    await settle();
    clock.t += 1;
    const z = board();
    await z.ready(['pr/m']);
    expect(await z.claimProbe('pr/m', 60_000)).toBe(true);
  });
});
