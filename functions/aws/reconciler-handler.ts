/**
 * The scheduled billing reconciler. Its logic (billing adapters per provider, drift reports) comes with the
 * reconciliation issue; until then it reports, honestly, that nothing could be verified — never a fake "ok".
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';

const logger = new Logger({ serviceName: 'switchyard-reconciler' });

const scheduleEvent = z
  .object({ mode: z.enum(['incremental', 'daily']).default('incremental') })
  .passthrough();

export interface ReconcileResult {
  readonly mode: 'incremental' | 'daily';
  readonly verdict: 'unverifiable';
  readonly reason: string;
  readonly providers: readonly string[];
}

export async function handler(event: unknown): Promise<ReconcileResult> {
  const { mode } = scheduleEvent.parse(event ?? {});
  const result: ReconcileResult = {
    mode,
    verdict: 'unverifiable',
    reason: 'no billing adapters configured (the reconciliation issue adds them)',
    providers: [],
  };
  logger.warn('reconciliation skipped', { ...result });
  return result;
}
