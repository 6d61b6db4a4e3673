/** The gateway function's environment, parsed once at cold start; a bad value fails the init naming it. */
import { z } from 'zod';

const envSchema = z.object({
  SWITCHYARD_CONFIG_TABLE: z.string().min(1),
  SWITCHYARD_SECRET_ID: z.string().min(1),
  /** Routes are re-read from DynamoDB in the background after this long. */
  SWITCHYARD_ROUTE_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
  /** A rotated secret is picked up within this many seconds. */
  SWITCHYARD_SECRET_TTL_S: z.coerce.number().int().min(0).default(300),
});
export type LambdaEnv = z.infer<typeof envSchema>;

export function parseLambdaEnv(env: NodeJS.ProcessEnv): LambdaEnv {
  const r = envSchema.safeParse(env);
  if (r.success) return r.data;
  throw new Error(
    `Invalid environment: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
  );
}
