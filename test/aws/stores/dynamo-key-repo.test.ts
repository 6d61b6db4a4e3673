/** Client keys in the keys table against dynalite: stored by hash, listed, edited and revoked by id. */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../../functions/aws/stores/dynamo-key-repo.ts';
import { hashKey, newClientKey } from '../../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';

let conn: StoreConnection;
let repo: DynamoKeyRepo;

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  repo = new DynamoKeyRepo(conn.client, conn.tableName(KEYS_TABLE));
});
afterAll(async () => conn.close());

describe('DynamoKeyRepo', () => {
  const full = newClientKey(
    { name: 'full', models: ['a', 'b'], rpm: 60, budgetUsd: 12.5, period: 'day' },
    new Date('2026-11-24T10:00:00Z'),
  );
  const plain = newClientKey({ name: 'plain' }, new Date('2026-11-24T09:00:00Z'));

  it('round-trips a key record by the hash of the key, and never stores the key', async () => {
    await repo.put(full.record);
    await repo.put(plain.record);
    expect(await repo.findByHash(hashKey(full.key))).toEqual(full.record);
    expect(await repo.findByHash(hashKey(plain.key))).toEqual(plain.record);
    expect(await repo.findByHash(hashKey('sk-sy-other'))).toBeUndefined();
    const raw = JSON.stringify(
      (await conn.client.send(new ScanCommand({ TableName: conn.tableName(KEYS_TABLE) }))).Items,
    );
    expect(raw).not.toContain(full.key);
    expect(raw).not.toContain(plain.key);
  });

  it('refuses a second key with the same hash', async () => {
    await expect(repo.put({ ...full.record, id: 'key_other' })).rejects.toThrow();
  });

  it('lists keys oldest first', async () => {
    expect((await repo.list()).map((k) => k.name)).toEqual(['plain', 'full']);
  });

  it('edits by id in one write: sets what is given, removes what is null, leaves the rest', async () => {
    const k = newClientKey({
      name: 'edited',
      models: ['a'],
      rpm: 10,
      limitShards: 2,
      team: 't',
      admin: true,
    });
    await repo.put(k.record);
    const changes = { team: null, models: ['b', 'c'], rpm: 20, budgetUsd: 3.5, period: 'total' } as const;
    expect(await repo.edit(k.record.id, changes)).toBe(true);
    const { team: removed, ...kept } = k.record;
    expect(removed).toBe('t');
    const edited = { ...kept, models: ['b', 'c'], rpm: 20, budgetUsd: 3.5, period: 'total' };
    expect(await repo.findByHash(hashKey(k.key))).toEqual(edited);
    // Removing the budget takes its period along; an empty change writes nothing and finds the key.
    expect(await repo.edit(k.record.id, { budgetUsd: null, rpm: null, models: null, team: 'u' })).toBe(true);
    expect(await repo.edit(k.record.id, {})).toBe(true);
    expect(await repo.findByHash(hashKey(k.key))).toEqual({
      id: k.record.id,
      name: 'edited',
      hash: k.record.hash,
      createdAt: k.record.createdAt,
      limitShards: 2,
      admin: true,
      team: 'u',
    });
    expect(await repo.edit('key_000000000000', { team: 'x' })).toBe(false);
  });

  it('revokes by id, and says false for an id it does not know', async () => {
    expect(await repo.revoke(plain.record.id, '2026-11-24T11:00:00.000Z')).toBe(true);
    expect((await repo.findByHash(hashKey(plain.key)))?.revokedAt).toBe('2026-11-24T11:00:00.000Z');
    expect(await repo.revoke('key_000000000000', '2026-11-24T11:00:00.000Z')).toBe(false);
  });
});
