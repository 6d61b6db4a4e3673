/** The gateway function's environment, parsed once at cold start; a bad value fails the init naming it. */
import * as z from 'zod';
import { responsesTtlDaysSchema } from '../core/stores/response-store.ts';
import { DEFAULT_USAGE_RETENTION_DAYS, DEFAULT_USAGE_SHARDS } from '../core/usage/types.ts';

const envSchema = z.object({
  SWITCHYARD_CONFIG_TABLE: z.string().min(1),
  SWITCHYARD_SECRET_ID: z.string().min(1),
  SWITCHYARD_KEYS_TABLE: z.string().min(1),
  SWITCHYARD_USAGE_TABLE: z.string().min(1),
  /** Aggregate shards per day of the usage ledger: raise it, never lower it (readers query 0…N-1). */
  SWITCHYARD_USAGE_SHARDS: z.coerce.number().int().min(1).max(256).default(DEFAULT_USAGE_SHARDS),
  SWITCHYARD_USAGE_RETENTION_DAYS: z.coerce.number().int().min(1).default(DEFAULT_USAGE_RETENTION_DAYS),
  /** Stored Responses (`store: true`) and the days each is kept. */
  SWITCHYARD_RESPONSES_TABLE: z.string().min(1),
  SWITCHYARD_RESPONSES_TTL_DAYS: responsesTtlDaysSchema,
  /** The reconciliation reports, read by the admin API's billing page (absent: that page is a 404). */
  SWITCHYARD_REPORTS_TABLE: z.string().min(1).optional(),
  /** The reconciler function the admin API's run-now invokes (absent: `POST /admin/v1/billing/reconcile` is a 404). */
  SWITCHYARD_RECONCILER_FUNCTION: z.string().min(1).optional(),
  /** Routes are re-read from DynamoDB in the background after this long. */
  SWITCHYARD_ROUTE_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
  /** A rotated secret is picked up within this many seconds. */
  SWITCHYARD_SECRET_TTL_S: z.coerce.number().int().min(0).default(300),
  /**
   * The `service` dimension of the EMF metrics (powertools' own variable): the stack sets its name, so two
   * stacks in one account keep apart the series their dashboards and alarms read.
   */
  POWERTOOLS_SERVICE_NAME: z.string().min(1).default('switchyard'),
});
export type LambdaEnv = z.infer<typeof envSchema>;

/** Parses an environment with a schema, or fails the init naming each bad variable (never its value). */
function parseEnvWith<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const r = schema.safeParse(env);
  if (r.success) return r.data;
  throw new Error(
    `Invalid environment: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
  );
}

export function parseLambdaEnv(env: NodeJS.ProcessEnv): LambdaEnv {
  return parseEnvWith(envSchema, env);
}

/** The reconciler reads the same tables and secret as the gateway, plus its own reports table and settings. */
const reconcilerEnvSchema = envSchema
  .pick({
    SWITCHYARD_CONFIG_TABLE: true,
    SWITCHYARD_USAGE_TABLE: true,
    SWITCHYARD_SECRET_ID: true,
    SWITCHYARD_USAGE_SHARDS: true,
    POWERTOOLS_SERVICE_NAME: true,
  })
  .extend({
    SWITCHYARD_REPORTS_TABLE: z.string().min(1),
    /** Per billing API call. */
    SWITCHYARD_BILLING_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
    /** The stack's drift tolerance: a provider's `billing.tolerancePercent` overrides it for its verdicts. */
    SWITCHYARD_DRIFT_TOLERANCE_PERCENT: z.coerce.number().min(0).default(2),
    /** The bucket monthly statements go to (functions/aws/statement-publisher.ts); none: not written. */
    SWITCHYARD_STATEMENTS_BUCKET: z.string().min(1).optional(),
    /** The keys table: statements name keys and group them by team. */
    SWITCHYARD_KEYS_TABLE: z.string().min(1).optional(),
    /** The issuer named on statements. */
    SWITCHYARD_ORG_NAME: z.string().min(1).max(200).default('Switchyard'),
  });
export type ReconcilerEnv = z.infer<typeof reconcilerEnvSchema>;

/** The reconciler function's environment, parsed once at cold start. */
export function parseReconcilerEnv(env: NodeJS.ProcessEnv): ReconcilerEnv {
  return parseEnvWith(reconcilerEnvSchema, env);
}

/** The ledger fold function folds the usage table's stream into the aggregates of the gateway's shards. */
const foldEnvSchema = envSchema.pick({
  SWITCHYARD_USAGE_TABLE: true,
  SWITCHYARD_USAGE_SHARDS: true,
  SWITCHYARD_KEYS_TABLE: true,
  POWERTOOLS_SERVICE_NAME: true,
});
export type FoldEnv = z.infer<typeof foldEnvSchema>;

export function parseFoldEnv(env: NodeJS.ProcessEnv): FoldEnv {
  return parseEnvWith(foldEnvSchema, env);
}
