/**
 * Providers with no billing API (Gemini's API keys, self-hosted models): the reconciler reports the ledger
 * alone and flags the provider `unverifiable`.
 */
import type { BillingAdapter } from '../types.ts';

export const noneBilling = { type: 'none', kind: 'none' } satisfies BillingAdapter;
