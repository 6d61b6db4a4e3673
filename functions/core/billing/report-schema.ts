/**
 * The reconciliation report, as a zod schema: reports come back from the reports table (and go out through
 * `reconcile --json`), so they are parsed at that edge, and the types are inferred from here.
 */
import * as z from 'zod';

const money = z.object({ amount: z.number(), currency: z.string() });

export const snapshotSchema = z.object({
  at: z.string(),
  spent: money.optional(),
  balance: money.optional(),
});

export const verdictSchema = z.enum(['ok', 'drift', 'unverifiable', 'provider-error']);

/** What the ledger says about a provider over the report's window. */
export const ledgerFiguresSchema = z.object({
  costUsd: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  requests: z.number(),
  /** Requests with usage but no configured price: the ledger's cost leaves them out. */
  unpricedRequests: z.number(),
});

export const providerFiguresSchema = z.object({
  /** As the provider reports it. */
  cost: money,
  /** The same in USD (through `billing.usdRate` when the bill is not in USD). */
  costUsd: z.number().optional(),
  inputTokens: z.number().optional(),
  outputTokens: z.number().optional(),
  requests: z.number().optional(),
});

/** One sampled request checked against the provider's own record of it (OpenRouter `/generation`). */
export const sampleCheckSchema = z.object({
  requestId: z.string(),
  upstreamId: z.string(),
  ledgerCostUsd: z.number().nullable(),
  providerCostUsd: z.number(),
  ledgerTokens: z.tuple([z.number(), z.number()]),
  providerTokens: z.tuple([z.number(), z.number()]).optional(),
  match: z.boolean(),
});

export const reportSchema = z.object({
  provider: z.string(),
  day: z.string(),
  billingType: z.string(),
  verdict: verdictSchema,
  reason: z.string(),
  ledger: ledgerFiguresSchema,
  providerFigures: providerFiguresSchema.optional(),
  /** provider − ledger, USD. */
  driftUsd: z.number().optional(),
  /** (provider − ledger) / ledger × 100; 100 when the ledger has nothing the provider billed. */
  driftPercent: z.number().optional(),
  tolerancePercent: z.number(),
  /** Snapshot-kind bills: the two readings the window runs between. */
  window: z.object({ from: snapshotSchema, to: snapshotSchema }).optional(),
  samples: z.array(sampleCheckSchema).optional(),
  balance: money.optional(),
  lowBalance: z.boolean().optional(),
  /** The day is not over (an incremental run): the provider's figures may still grow. */
  partial: z.boolean(),
});

/** A cumulative reading of a snapshot-kind bill: spend so far (one-api) or the balance left, at `at`. */
export type Snapshot = z.infer<typeof snapshotSchema>;
export type Verdict = z.infer<typeof verdictSchema>;
export type LedgerFigures = z.infer<typeof ledgerFiguresSchema>;
export type ProviderFigures = z.infer<typeof providerFiguresSchema>;
export type SampleCheck = z.infer<typeof sampleCheckSchema>;
export type Report = z.infer<typeof reportSchema>;
