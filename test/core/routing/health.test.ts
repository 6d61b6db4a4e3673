/**
 * The health board on one instance, without a store: when a breaker opens, what a plan looks like then, the
 * half-open probe, cool-downs from a 429's Retry-After and from a no-balance answer, and what never counts.
 * The shared path (two boards on one DynamoDB store) is test/aws/stores/dynamo-health-store.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import type { Logger } from '../../../functions/core/ports.ts';
import {
  DEFAULT_HEALTH,
  HealthBoard,
  type HealthConfig,
  type HealthEvent,
  healthConfigOf,
  type Outcome,
} from '../../../functions/core/routing/health.ts';

/** The rig's clock (one rig per test, tests run in turn). */
let t = 0;

function rig() {
  t = 1_800_000_000_000;
  const clock = { now: () => t, epochMs: () => t };
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = { log: (level, message, fields) => lines.push({ level, message, fields }) };
  const events: HealthEvent[] = [];
  const board = new HealthBoard({ clock, logger, onTransition: (e) => events.push(e) });
  return {
    board,
    lines,
    events,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

const a = { provider: 'a', model: 'm' };
const b = { provider: 'b', model: 'm' };
const cfg = () => DEFAULT_HEALTH;
/** An attempt on `id` that started now (or `startedAt`) and took `ms`. */
const outcome = (id: string, o: Partial<Outcome> = {}): Outcome => ({
  id,
  provider: id.split('/')[0] as string,
  cfg: DEFAULT_HEALTH,
  startedAt: t,
  ms: 100,
  stream: false,
  ...o,
});
type F = Parameters<HealthBoard['failure']>[1];
const fail = (board: HealthBoard, id: string, f: F, cfg: HealthConfig = DEFAULT_HEALTH, ms = 100) =>
  board.failure(outcome(id, { cfg, ms }), f);
const ok = (board: HealthBoard, id: string, ms = 100, stream = false) =>
  board.success(outcome(id, { ms, stream }));
const order = (board: HealthBoard) => board.plan([a, b], cfg).map((p) => `${p.id}:${p.status}`);

describe('HealthBoard (one instance)', () => {
  it('opens after failureThreshold consecutive timeouts, moves the target last, logs and reports it once', () => {
    const { board, lines, events } = rig();
    for (let i = 0; i < 4; i++) fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH);
    expect(order(board)).toEqual(['a/m:healthy', 'b/m:healthy']);
    fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH);
    expect(order(board)).toEqual(['b/m:healthy', 'a/m:open']);
    expect(events).toEqual([
      expect.objectContaining({ target: 'a/m', provider: 'a', state: 'open', reason: 'breaker' }),
    ]);
    expect(events[0]?.cause).toContain('5 consecutive failures');
    expect(lines.filter((l) => l.message === 'target skipped')).toHaveLength(1);
  });

  it('a success in between resets the consecutive count', () => {
    const { board } = rig();
    for (let i = 0; i < 4; i++) fail(board, 'a/m', { kind: 'server', status: 503 }, DEFAULT_HEALTH);
    ok(board, 'a/m', 100, false);
    for (let i = 0; i < 4; i++) fail(board, 'a/m', { kind: 'server', status: 503 }, DEFAULT_HEALTH);
    expect(board.view('a/m').status).toBe('healthy');
  });

  it('opens on a failure rate over the window once it holds minRequests attempts', () => {
    const { board, events, advance } = rig();
    // Alternating: never 5 in a row, but 50 % of 10+ attempts in 10 s.
    for (let i = 0; i < 10; i++) {
      if (i % 2 === 0) ok(board, 'a/m', 50, false);
      else fail(board, 'a/m', { kind: 'unreachable' }, DEFAULT_HEALTH);
      advance(200);
    }
    expect(board.view('a/m').status).toBe('open');
    expect(events[0]?.cause).toMatch(/5 of 10 attempts failed in 10 s/);
  });

  it("never counts the client's own errors, a refused field or an oversize answer", () => {
    const { board } = rig();
    for (let i = 0; i < 50; i++) {
      fail(board, 'a/m', { kind: 'bad_request', status: 400 }, DEFAULT_HEALTH);
      fail(board, 'a/m', { kind: 'unsupported' }, DEFAULT_HEALTH);
    }
    expect(board.view('a/m').status).toBe('healthy');
  });

  it('half-open after the cool-down: one probe at a time; its success closes, its failure reopens', async () => {
    const { board, events, advance } = rig();
    for (let i = 0; i < 5; i++) fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH);
    advance(DEFAULT_HEALTH.cooldownMs);
    expect(order(board)).toEqual(['a/m:half-open', 'b/m:healthy']);
    expect(await board.claimProbe('a/m', 60_000)).toBe(true);
    expect(await board.claimProbe('a/m', 60_000)).toBe(false);
    // While the probe is out, the others skip it.
    expect(order(board)).toEqual(['b/m:healthy', 'a/m:open']);
    fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH);
    expect(board.view('a/m').status).toBe('open');
    expect(events.at(-1)?.cause).toContain('probe failed');
    advance(DEFAULT_HEALTH.cooldownMs);
    expect(await board.claimProbe('a/m', 60_000)).toBe(true);
    ok(board, 'a/m', 80, false);
    expect(order(board)).toEqual(['a/m:healthy', 'b/m:healthy']);
    expect(events.at(-1)).toEqual(expect.objectContaining({ state: 'closed', reason: 'closed' }));
  });

  it('a probe that hangs or dies frees the target for another probe after its hold', async () => {
    const { board, advance } = rig();
    for (let i = 0; i < 5; i++) fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH);
    advance(DEFAULT_HEALTH.cooldownMs);
    expect(await board.claimProbe('a/m', 10_000)).toBe(true);
    advance(9_999);
    expect(await board.claimProbe('a/m', 10_000)).toBe(false);
    advance(1);
    expect(await board.claimProbe('a/m', 10_000)).toBe(true);
  });

  it('a 429 with Retry-After cools the target down for that long (capped); without it, nothing', () => {
    const { board, advance } = rig();
    fail(board, 'a/m', { kind: 'rate_limited', status: 429 }, DEFAULT_HEALTH);
    expect(board.view('a/m').status).toBe('healthy');
    fail(board, 'a/m', { kind: 'rate_limited', status: 429, retryAfterMs: 7_000 }, DEFAULT_HEALTH);
    expect(board.view('a/m')).toEqual(expect.objectContaining({ status: 'open', reason: 'rate_limited' }));
    advance(6_999);
    expect(board.view('a/m').status).toBe('open');
    // Over at its end, with no probe: a one-target route is not held behind one.
    advance(1);
    expect(board.view('a/m').status).toBe('healthy');
    expect(board.plan([a], cfg).map((p) => p.status)).toEqual(['healthy']);
    const capped = { ...DEFAULT_HEALTH, maxRetryAfterMs: 60_000 };
    fail(board, 'b/m', { kind: 'rate_limited', retryAfterMs: 86_400_000 }, capped);
    expect(board.view('b/m').openUntil - board.view('a/m').openUntil).toBe(60_000);
  });

  it('no balance cools the target down for quotaCooldownMs; a refused key (config, fixed by rotating it) does not', () => {
    const { board, advance } = rig();
    const quick = { ...DEFAULT_HEALTH, quotaCooldownMs: 120_000 };
    for (let i = 0; i < 10; i++) fail(board, 'b/m', { kind: 'auth', status: 401 }, quick);
    expect(board.view('b/m').status).toBe('healthy');
    fail(board, 'a/m', { kind: 'balance', status: 402 }, quick);
    expect(board.view('a/m')).toEqual(expect.objectContaining({ status: 'open', reason: 'quota' }));
    advance(119_999);
    expect(board.view('a/m').status).toBe('open');
    advance(1);
    expect(board.view('a/m').status).toBe('healthy');
  });

  it('a disabled breaker never skips its target', () => {
    const { board } = rig();
    for (let i = 0; i < 5; i++) fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH);
    const off = { ...DEFAULT_HEALTH, enabled: false };
    expect(board.plan([a, b], () => off).map((p) => p.status)).toEqual(['healthy', 'healthy']);
  });

  it('moving averages: time to the answer, and for streams time to the first content, separately', () => {
    const { board } = rig();
    ok(board, 'a/m', 100, false);
    ok(board, 'a/m', 200, false);
    ok(board, 'a/m', 40, true);
    expect(board.speed('a/m')).toEqual({ latencyMs: 120, ttftMs: 40 });
  });

  it('a failure of an attempt that started before the breaker opened does not reopen it after its cool-down', () => {
    const { board, advance } = rig();
    const before = t;
    advance(10);
    for (let i = 0; i < 5; i++) fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH);
    advance(DEFAULT_HEALTH.cooldownMs);
    expect(board.view('a/m').status).toBe('half-open');
    board.failure(outcome('a/m', { startedAt: before, ms: 40_000 }), { kind: 'timeout' });
    expect(board.view('a/m').status).toBe('half-open');
    // One that started after it does.
    fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH);
    expect(board.view('a/m').status).toBe('open');
  });

  it('speed and last use go to the target when the breaker is a base URL one (speedId)', () => {
    const { board } = rig();
    board.success(outcome('a/m@http://one', { speedId: 'a/m', ms: 80 }));
    expect(board.view('a/m')).toMatchObject({ latencyMs: 80, seenAt: t });
    expect(board.view('a/m@http://one').latencyMs).toBeUndefined();
  });

  it('a disabled breaker opens nothing: no transition, no log line, no event', () => {
    const { board, lines, events } = rig();
    const off = { ...DEFAULT_HEALTH, enabled: false };
    for (let i = 0; i < 20; i++) fail(board, 'a/m', { kind: 'timeout' }, off);
    fail(board, 'a/m', { kind: 'rate_limited', status: 429, retryAfterMs: 5_000 }, off);
    fail(board, 'a/m', { kind: 'balance', status: 402 }, off);
    expect(board.view('a/m').status).toBe('healthy');
    expect(events).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('a success that started before the breaker opened does not close it (a slow answer from before)', () => {
    const { board, events, advance } = rig();
    const before = t;
    advance(10);
    for (let i = 0; i < 5; i++) fail(board, 'a/m', { kind: 'server', status: 503 }, DEFAULT_HEALTH);
    advance(10);
    board.success(outcome('a/m', { startedAt: before, ms: 2_000 }));
    expect(board.view('a/m').status).toBe('open');
    expect(events.map((e) => e.state)).toEqual(['open']);
    // One that started after it (a probe, once half-open) does.
    advance(DEFAULT_HEALTH.cooldownMs);
    ok(board, 'a/m');
    expect(board.view('a/m').status).toBe('healthy');
  });

  it('latency: timeouts weigh on the moving average, so a hanging target never ranks fastest', () => {
    const { board } = rig();
    ok(board, 'a/m', 100);
    fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH, 30_000);
    expect(board.speed('a/m').latencyMs).toBe(100 + 0.2 * (30_000 - 100));
    // A quick failure counts as twice the usual at least.
    ok(board, 'b/m', 100);
    fail(board, 'b/m', { kind: 'server', status: 503 }, DEFAULT_HEALTH, 5);
    expect(board.speed('b/m').latencyMs).toBe(100 + 0.2 * (200 - 100));
    // The client's own errors say nothing of speed.
    fail(board, 'b/m', { kind: 'bad_request', status: 400 }, DEFAULT_HEALTH, 5);
    expect(board.speed('b/m').latencyMs).toBe(120);
  });

  it('down(): open, or half-open with its probe out; a probe freed with no verdict is up for the next request', async () => {
    const { board, advance } = rig();
    expect(board.down('a/m')).toBe(false);
    for (let i = 0; i < 5; i++) fail(board, 'a/m', { kind: 'timeout' }, DEFAULT_HEALTH);
    expect(board.down('a/m')).toBe(true);
    advance(DEFAULT_HEALTH.cooldownMs);
    expect(board.down('a/m')).toBe(false);
    expect(await board.claimProbe('a/m', 60_000)).toBe(true);
    expect(board.down('a/m')).toBe(true);
    // Another request's own fault frees nothing: only the probe's own outcome does.
    board.failure(outcome('a/m'), { kind: 'bad_request', status: 400 });
    expect(board.down('a/m')).toBe(true);
    // The probe's request was the client's own fault: no verdict, the claim is freed.
    board.failure(outcome('a/m', { probe: true }), { kind: 'bad_request', status: 400 });
    expect(board.down('a/m')).toBe(false);
    expect(await board.claimProbe('a/m', 60_000)).toBe(true);
    board.release('a/m'); // the client left
    expect(await board.claimProbe('a/m', 60_000)).toBe(true);
  });
});

describe('healthConfigOf', () => {
  it('layers the defaults, the provider and the route, and returns the same object for the same config', () => {
    const config = parseConfig({
      providers: {
        p: { type: 'mock', health: { cooldownMs: 5_000, failureThreshold: 2 } },
        q: { type: 'mock' },
      },
      routes: {
        r: {
          health: { failureThreshold: 3 },
          targets: [
            { provider: 'p', model: 'x' },
            { provider: 'q', model: 'x' },
          ],
        },
      },
    });
    const route = config.routes.r!;
    const p = healthConfigOf(route, config.providers.p);
    expect(p).toEqual({ ...DEFAULT_HEALTH, cooldownMs: 5_000, failureThreshold: 3 });
    expect(healthConfigOf(route, config.providers.q)).toEqual({ ...DEFAULT_HEALTH, failureThreshold: 3 });
    expect(healthConfigOf(route, config.providers.p)).toBe(p);
  });

  it('refuses settings out of range', () => {
    expect(() =>
      parseConfig({
        providers: { p: { type: 'mock', health: { cooldownMs: 10 } } },
        routes: { r: { targets: [{ provider: 'p', model: 'x' }] } },
      }),
    ).toThrow(/cooldownMs/);
  });
});
