/**
 * The event of the admin API's run-now on AWS: the gateway function invokes the reconciler with it
 * (./reconcile-invoker.ts, asynchronously), and the reconciler runs that day — one provider or every one —
 * as the CLI does (./reconciler-handler.ts). Its own module, so neither bundle carries the other's SDK.
 */
import * as z from 'zod';

export const reconcileNowEventSchema = z.strictObject({
  switchyard: z.literal('reconcile-now'),
  /** The UTC day to reconcile (the gateway checked it: not in the future, at most 92 days back). */
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** One provider id of the config; absent: every provider. */
  provider: z.string().min(1).optional(),
});
export type ReconcileNowEvent = z.infer<typeof reconcileNowEventSchema>;

/** Whether an event is meant to be a run-now (then it must parse as one), not a schedule's. */
export const isReconcileNowEvent = (event: unknown): boolean =>
  typeof event === 'object' && event !== null && 'switchyard' in event;
