/** What the shared-health tests (./dynamo-health-store.test.ts, ./health-fleet.test.ts) build on. */
import type { Clock, LogLevel } from '../../../functions/core/ports.ts';
import { DEFAULT_HEALTH, HealthBoard, type HealthStore } from '../../../functions/core/routing/health.ts';

export const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

/** A clock a test moves by hand. */
export class TestClock implements Clock {
  constructor(public t = T0) {}
  now(): number {
    return this.t;
  }
  epochMs(): number {
    return this.t;
  }
}

/** Gateway instances (boards) on one store, with their background work tracked so a test can settle it. */
export function fleet(clock: TestClock, store: HealthStore) {
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
