/** Budget settlements: retried with backoff, kept while the store is down, made once it answers again. */
import { describe, expect, it } from 'vitest';
import { BudgetSettler } from '../../../functions/core/keys/budget-settler.ts';
import type { BudgetHold, LimitStore } from '../../../functions/core/keys/types.ts';

const hold = (id: string): BudgetHold => ({
  keyId: 'key_s',
  window: '2026-11',
  limitUsd: 10,
  amountUsd: 0.5,
  holdId: id,
  expiresAtEpochMs: 0,
});

/** A store that refuses settlements while `down`, and those of the holds in `refuse`. */
class SwitchedLimits implements LimitStore {
  down = true;
  readonly refuse = new Set<string>();
  readonly settled: string[] = [];
  async takeRate() {
    return { ok: true } as const;
  }
  async reserve() {
    return true;
  }
  async settle(h: BudgetHold) {
    if (this.down || this.refuse.has(h.holdId)) throw new Error('ECONNREFUSED');
    this.settled.push(h.holdId);
  }
  async spent() {
    return { spentUsd: 0, committedUsd: 0 };
  }
}

function settler(limits: LimitStore, maxPending?: number) {
  const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const s = new BudgetSettler({
    limits,
    sleep: async () => {},
    logger: { log: (level, message, fields) => logs.push({ level, message, fields }) },
    ...(maxPending === undefined ? {} : { maxPending }),
  });
  return { s, logs };
}

describe('BudgetSettler', () => {
  it('makes the waiting settlements in order once the store answers, stopping at one it still refuses', async () => {
    const limits = new SwitchedLimits();
    const { s } = settler(limits);
    for (const id of ['h1', 'h2', 'h3']) await s.settle(hold(id), 0.1, `req-${id}`);
    expect(s.waiting).toBe(3);
    limits.down = false;
    limits.refuse.add('h2');
    await s.settle(hold('h4'), 0.1, 'req-h4');
    expect(limits.settled).toEqual(['h4', 'h1']);
    expect(s.waiting).toBe(2);
    limits.refuse.clear();
    await s.settle(hold('h5'), 0.1, 'req-h5');
    expect(limits.settled).toEqual(['h4', 'h1', 'h5', 'h2', 'h3']);
    expect(s.waiting).toBe(0);
  });

  it('logs what it cannot keep, with the amounts to settle it by hand, and never rejects', async () => {
    const limits = new SwitchedLimits();
    const { s, logs } = settler(limits, 1);
    await expect(s.settle(hold('kept'), 0.2, 'req-kept')).resolves.toBeUndefined();
    await expect(s.settle(hold('lost'), 0.3, 'req-lost')).resolves.toBeUndefined();
    expect(s.waiting).toBe(1);
    const errors = logs.filter((l) => l.level === 'error');
    expect(errors.map((l) => l.fields.holdId)).toEqual(['kept', 'lost']);
    expect(errors[1]?.message).toContain('by hand');
    expect(errors[1]?.fields).toMatchObject({
      requestId: 'req-lost',
      keyId: 'key_s',
      window: '2026-11',
      reservedUsd: 0.5,
      actualUsd: 0.3,
      error: 'ECONNREFUSED',
    });
  });
});
