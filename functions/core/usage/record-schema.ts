/** The usage record as data from outside (a spool file, an exported log): parsed once with zod. */
import * as z from 'zod';
import { ENDPOINT_IDS } from '../endpoints/types.ts';
import { MAX_TRIED_STEPS, type UsageRecord } from './types.ts';

export { ENDPOINT_IDS };

const count = z.number().int().min(0);

export const usageRecordSchema = z.strictObject({
  requestId: z.string().min(1),
  recordId: z.string().min(1),
  time: z.iso.datetime(),
  keyId: z.string().min(1),
  // Absent in records written before the field existed, when only chat and embeddings were served: `chat`.
  endpoint: z.enum(ENDPOINT_IDS).default('chat'),
  route: z.string().nullable(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  status: z.number().int(),
  errorCode: z.string().nullable(),
  inputTokens: count,
  outputTokens: count,
  cachedInputTokens: count,
  // Absent in records written before the field existed: no cache writes were counted then.
  cacheWriteTokens: count.default(0),
  reasoningTokens: count,
  costUsd: z.number().min(0).nullable(),
  priceVersion: z.string().nullable(),
  latencyMs: z.number().min(0),
  ttftMs: z.number().min(0).nullable(),
  attempts: count,
  stream: z.boolean(),
  usageSource: z.enum(['provider', 'estimated', 'none']),
  upstreamId: z.string().nullable(),
  // Absent in records written before the usage check existed: a spool or log line of then still replays.
  implausible: z.string().min(1).exactOptional(),
  // Absent in records without a budget, and in records from before the ledger settled reservations.
  reservation: z
    .strictObject({
      shard: z.number().int().min(0).max(1023),
      window: z.string().min(1).max(16),
      bucket: z.number().int().min(0),
      usd: z.number().min(0),
    })
    .exactOptional(),
  // Absent when the request was served at its first try, and in records from before the field.
  tried: z
    .strictObject({
      retries: count,
      fallbacks: count,
      steps: z
        .array(
          z.strictObject({
            // As long as the record's own provider and model may be (the config bounds them).
            provider: z.string(),
            model: z.string(),
            outcome: z.string().max(64),
            status: z.number().int().exactOptional(),
            ms: z.number().min(0),
          }),
        )
        .max(MAX_TRIED_STEPS)
        .readonly(),
    })
    .exactOptional(),
});

// The schema and the interface must describe the same record, both ways.
type Parsed = z.infer<typeof usageRecordSchema>;
const _toRecord = (p: Parsed): UsageRecord => p;
const _toParsed = (r: UsageRecord): Parsed => r;
void _toRecord;
void _toParsed;
