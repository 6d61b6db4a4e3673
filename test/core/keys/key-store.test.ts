/** Client-key auth: master first, sk-sy- keys by hash, cached briefly, revocation within the TTL. */
import { describe, expect, it } from 'vitest';
import { MasterKeyStore } from '../../../functions/core/auth.ts';
import { newClientKey } from '../../../functions/core/keys/client-keys.ts';
import { ClientKeyStore } from '../../../functions/core/keys/key-store.ts';
import type { ClientKey, ClientKeyRepo } from '../../../functions/core/keys/types.ts';

/** An in-memory repo that counts lookups and can be made to fail. */
class MemoryRepo implements ClientKeyRepo {
  readonly keys = new Map<string, ClientKey>();
  lookups = 0;
  down = false;
  async put(key: ClientKey) {
    this.keys.set(key.hash, key);
  }
  async findByHash(hash: string) {
    this.lookups++;
    if (this.down) throw new Error('table unreachable');
    return this.keys.get(hash);
  }
  async list() {
    return [...this.keys.values()];
  }
  async revoke(id: string, atIso: string) {
    for (const [h, k] of this.keys) if (k.id === id) this.keys.set(h, { ...k, revokedAt: atIso });
    return true;
  }
  async edit() {
    return false;
  }
}

function setup(ttlMs = 1000) {
  let now = 0;
  const repo = new MemoryRepo();
  const store = new ClientKeyStore(
    new MasterKeyStore('master-key-0123456789'),
    repo,
    { now: () => now, epochMs: () => now },
    ttlMs,
  );
  return { repo, store, advance: (ms: number) => (now += ms) };
}

describe('ClientKeyStore', () => {
  it('accepts the master key without a table lookup', async () => {
    const { repo, store } = setup();
    expect((await store.authenticate('master-key-0123456789'))?.keyId).toBe('master');
    expect(repo.lookups).toBe(0);
  });

  it('turns a stored key into a principal with its models, rpm and budget', async () => {
    const { repo, store } = setup();
    const k = newClientKey({ name: 'app', models: ['a'], rpm: 10, budgetUsd: 5, period: 'day' });
    await repo.put(k.record);
    const p = await store.authenticate(k.key);
    expect(p?.keyId).toBe(k.record.id);
    expect([...(p?.allowedModels ?? [])]).toEqual(['a']);
    expect(p?.rpm).toBe(10);
    expect(p?.budget).toEqual({ usd: 5, period: 'day' });
  });

  it('never looks up bearers that are not sk-sy- keys', async () => {
    const { repo, store } = setup();
    expect(await store.authenticate('sk-proj-something')).toBeUndefined();
    expect(repo.lookups).toBe(0);
  });

  it('serves a key from the cache within the TTL and sees a revoke after it', async () => {
    const { repo, store, advance } = setup(1000);
    const k = newClientKey({ name: 'app' });
    await repo.put(k.record);
    expect(await store.authenticate(k.key)).toBeDefined();
    await repo.revoke(k.record.id, new Date().toISOString());
    advance(999);
    expect(await store.authenticate(k.key)).toBeDefined();
    expect(repo.lookups).toBe(1);
    advance(2);
    expect(await store.authenticate(k.key)).toBeUndefined();
    expect(repo.lookups).toBe(2);
  });

  it('caches unknown keys too, and reads the table once for a burst on a cold key', async () => {
    const { repo, store } = setup();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.authenticate('sk-sy-unknown')));
    expect(results.every((r) => r === undefined)).toBe(true);
    expect(await store.authenticate('sk-sy-unknown')).toBeUndefined();
    expect(repo.lookups).toBe(1);
  });

  it('keeps a known key working on its last state when the table is unreachable', async () => {
    const { repo, store, advance } = setup(1000);
    const k = newClientKey({ name: 'app' });
    await repo.put(k.record);
    await store.authenticate(k.key);
    repo.down = true;
    advance(5000);
    expect((await store.authenticate(k.key))?.keyId).toBe(k.record.id);
    await expect(store.authenticate(newClientKey({ name: 'new' }).key)).rejects.toThrow('unreachable');
  });
});
