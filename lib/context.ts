/**
 * The CDK context of the app (`-c key=value` or cdk.json), parsed with zod once: a bad value stops the synth
 * naming the key. Values from the command line arrive as strings, those from cdk.json as JSON values.
 */
import type { App } from 'aws-cdk-lib';
import * as z from 'zod';
import { responsesTtlDaysSchema } from '../functions/core/stores/response-store.ts';
import { DEFAULT_USAGE_SHARDS } from '../functions/core/usage/types.ts';
import { bedrockModelsContext } from './bedrock-access.ts';

const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

export const stackContextSchema = z.object({
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]*$/)
    .default('Switchyard'),
  removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  alarmEmail: z.string().email().optional(),
  memorySize: z.coerce.number().int().min(128).max(10_240).optional(),
  reservedConcurrency: z.coerce.number().int().min(1).optional(),
  driftTolerancePercent: z.coerce.number().positive().max(100).optional(),
  bedrockModels: bedrockModelsContext,
  /** A public function URL (auth NONE) beside the REST API; default false: the URL takes SigV4 only. */
  publicFunctionUrl: flag.default(false),
  /** The usage ledger's aggregate shards per day. Readers query shards 0…N-1: raise it, never lower it. */
  usageShards: z.coerce.number().int().min(1).max(256).default(DEFAULT_USAGE_SHARDS),
  /** Days a stored response (Responses API, `store: true`) is kept before it expires. */
  responsesTtlDays: responsesTtlDaysSchema,
  /**
   * Active health probes: minutes between the rounds a schedule runs on the gateway function (1–1440); unset,
   * no schedule. Only routes (or providers) with `health.probeEveryMs` are probed.
   */
  healthProbeMinutes: z.coerce.number().int().min(1).max(1440).optional(),
  /** The organisation named as the issuer of the monthly statements the stack writes. */
  orgName: z.string().min(1).max(200).optional(),
});
export type StackContext = z.infer<typeof stackContextSchema>;

/** Reads every key of {@link stackContextSchema} from the app's context and parses them together. */
export function readStackContext(app: Pick<App, 'node'>): StackContext {
  const raw = Object.fromEntries(
    Object.keys(stackContextSchema.shape).map((key) => [key, app.node.tryGetContext(key) ?? undefined]),
  );
  const r = stackContextSchema.safeParse(raw);
  if (r.success) return r.data;
  throw new Error(
    `Invalid CDK context: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
  );
}
