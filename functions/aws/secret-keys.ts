/**
 * Provider keys and the master key from one Secrets Manager secret:
 * `{"_master": "<master key>", "<provider id>": "key" | ["key1", "key2"], "_billing": {"<provider id>": "admin
 * key"}}` (`_billing`: the admin / management keys the reconciler reads bills with, optional). Provider ids
 * cannot start with `_`, so these fields never collide with one. Read through powertools' parameters utility, which
 * caches the value for `maxAge` seconds: a rotated secret is picked up within that TTL.
 */

import { timingSafeEqual } from 'node:crypto';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import * as z from 'zod';
import { MASTER_PRINCIPAL } from '../core/auth.ts';
import type { BillingKeySource } from '../core/billing/reconcile.ts';
import { own } from '../core/json.ts';
import type { KeyStore, Principal, ProviderKeySource } from '../core/ports.ts';
import type { SecretMasker } from '../core/secrets.ts';

export const MASTER_FIELD = '_master';
export const BILLING_FIELD = '_billing';

const secretSchema = z
  .object({
    [MASTER_FIELD]: z.string({ error: `the secret needs a "${MASTER_FIELD}" string field` }).min(1),
    [BILLING_FIELD]: z.record(z.string(), z.string().min(1)).optional(),
  })
  .catchall(z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]));

/** Every key in the secret: the master key, provider keys, billing keys. */
function secretValues(secret: z.infer<typeof secretSchema>): string[] {
  const out: string[] = [];
  for (const [field, v] of Object.entries(secret)) {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) out.push(...v);
    else if (field === BILLING_FIELD && v !== undefined) out.push(...Object.values(v));
  }
  return out;
}

export class SecretKeys implements ProviderKeySource, KeyStore, BillingKeySource {
  constructor(
    private readonly secretId: string,
    private readonly maxAgeSeconds: number,
    /** Learns every value of the secret as it is read (a rotation adds the new ones), to mask them by value. */
    private readonly masker?: SecretMasker,
  ) {}

  /** The last value powertools handed out and its parse: within maxAge it returns the same object. */
  private last: { raw: unknown; parsed: z.infer<typeof secretSchema> } | undefined;

  private async read(): Promise<z.infer<typeof secretSchema>> {
    const value = await getSecret(this.secretId, { maxAge: this.maxAgeSeconds, transform: 'json' });
    if (this.last !== undefined && this.last.raw === value) return this.last.parsed;
    const parsed = secretSchema.safeParse(value);
    // Never echo the secret: only the shape is wrong.
    if (!parsed.success)
      throw new Error(`secret ${this.secretId} has the wrong shape: ${parsed.error.issues[0]?.message}`);
    this.last = { raw: value, parsed: parsed.data };
    this.masker?.add(secretValues(parsed.data));
    return parsed.data;
  }

  async keys(providerId: string): Promise<readonly string[]> {
    if (providerId.startsWith('_')) return [];
    const v = own(await this.read(), providerId);
    return v === undefined || (typeof v !== 'string' && !Array.isArray(v))
      ? []
      : typeof v === 'string'
        ? [v]
        : v;
  }

  /** The reconciler's key for a provider's billing API (`_billing.<provider id>`), if one is set. */
  async key(providerId: string): Promise<string | undefined> {
    const billing = (await this.read())[BILLING_FIELD];
    return billing === undefined ? undefined : own(billing, providerId);
  }

  async authenticate(bearer: string): Promise<Principal | undefined> {
    const master = (await this.read())[MASTER_FIELD];
    if (typeof master !== 'string') return undefined;
    const a = Buffer.from(bearer);
    const b = Buffer.from(master);
    return a.length === b.length && timingSafeEqual(a, b) ? MASTER_PRINCIPAL : undefined;
  }
}
