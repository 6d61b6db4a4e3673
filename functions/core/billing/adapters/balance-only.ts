/**
 * A snapshot bill read from the balance alone (SiliconFlow, DeepSeek: no usage counter): each reading is
 * the balance at the time, and the reconciler reads the spend from the drop between two readings.
 */
import type { BillingType } from '../../config/presets.ts';
import type { BillingAdapter, BillingContext, Money, Snapshot } from '../types.ts';

export function balanceOnlyBilling<T extends BillingType>(
  type: T,
  balance: (ctx: BillingContext) => Promise<Money>,
) {
  return {
    type,
    kind: 'snapshot',
    async snapshot(ctx: BillingContext, nowIso: string): Promise<Snapshot> {
      return { at: nowIso, balance: await balance(ctx) };
    },
    balance,
  } as const satisfies BillingAdapter;
}
