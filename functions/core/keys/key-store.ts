/**
 * Client-key authentication: the master key first (constant-time compare, no I/O), then `sk-sy-` keys by
 * their SHA-256 in the key table, behind a short in-memory cache. A revoke reaches every instance within
 * the cache TTL (default 5 s; documented as "within 10 seconds"). Unknown keys are cached too, so a client
 * retrying with a bad key does not hit the table on every request; the cache is bounded.
 */
import type { Clock, KeyStore, Principal } from '../ports.ts';
import { CLIENT_KEY_PREFIX, hashKey } from './client-keys.ts';
import type { ClientKey, ClientKeyRepo } from './types.ts';

export const KEY_CACHE_TTL_MS = 5_000;
const MAX_CACHED = 10_000;

export function principalOf(key: ClientKey): Principal {
  return {
    keyId: key.id,
    ...(key.models === undefined ? {} : { allowedModels: new Set(key.models) }),
    ...(key.rpm === undefined ? {} : { rpm: key.rpm }),
    ...(key.budgetUsd === undefined ? {} : { budget: { usd: key.budgetUsd, period: key.period ?? 'month' } }),
    ...(key.limitShards === undefined || key.limitShards <= 1 ? {} : { limitShards: key.limitShards }),
    ...(key.admin === true ? { admin: true } : {}),
  };
}

interface Entry {
  readonly principal: Principal | undefined;
  readonly until: number;
}

export class ClientKeyStore implements KeyStore {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Principal | undefined>>();

  constructor(
    private readonly master: KeyStore,
    private readonly repo: ClientKeyRepo,
    private readonly clock: Clock,
    private readonly ttlMs = KEY_CACHE_TTL_MS,
  ) {}

  async authenticate(bearer: string): Promise<Principal | undefined> {
    const m = await this.master.authenticate(bearer);
    if (m !== undefined || !bearer.startsWith(CLIENT_KEY_PREFIX)) return m;
    const hash = hashKey(bearer);
    const now = this.clock.now();
    const hit = this.cache.get(hash);
    if (hit !== undefined && hit.until > now) return hit.principal;
    // One lookup per key at a time: a burst on a cold cache reads the table once.
    let p = this.inflight.get(hash);
    if (p === undefined) {
      p = this.lookup(hash).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, p);
    }
    return p;
  }

  private async lookup(hash: string): Promise<Principal | undefined> {
    let key: ClientKey | undefined;
    try {
      key = await this.repo.findByHash(hash);
    } catch (err) {
      // The table is unreachable: a key seen before keeps working on what was known; a new one cannot.
      const stale = this.cache.get(hash);
      if (stale !== undefined) return stale.principal;
      throw err;
    }
    const principal = key === undefined || key.revokedAt !== undefined ? undefined : principalOf(key);
    if (this.cache.size >= MAX_CACHED) {
      // Drop the oldest entry (Map keeps insertion order).
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.delete(hash);
    this.cache.set(hash, { principal, until: this.clock.now() + this.ttlMs });
    return principal;
  }
}
