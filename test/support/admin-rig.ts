/**
 * The admin API's e2e rig (test/e2e/admin-*.test.ts): the real local gateway on its embedded store, keys made
 * in that store as the CLI makes them, raw HTTP helpers.
 */
import { afterAll, beforeAll } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import {
  type ClientKeyOptions,
  type NewClientKey,
  newClientKey,
} from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { type Harness, MASTER_KEY, openaiProvider, raw, route, startHarness } from './gateway-harness.ts';

export interface AdminRig {
  readonly h: Harness<'a' | 'b'>;
  /** The keys table of the gateway's store, as the CLI writes it. */
  readonly repo: DynamoKeyRepo;
  keyOf(opts?: Omit<ClientKeyOptions, 'name'> & { name?: string }): Promise<NewClientKey>;
  get(path: string, key?: string | null): ReturnType<typeof raw>;
}

/** What a test file needs besides route `chat`. */
export interface AdminRigOptions {
  /** More routes, each served by a/m-a (a key's allow-list needs a route it does not allow). */
  readonly moreRoutes?: readonly string[];
  /** a/m-a's and b/m-b's price, USD per 1M tokens (a key's spend needs a price); default: unpriced. */
  readonly price?: { readonly input: number; readonly output: number };
}

/** A gateway with route `chat` (a/m-a then b/m-b, breaker at one failure) and short key and route caches. */
export async function startAdminRig(opts: AdminRigOptions = {}): Promise<AdminRig> {
  const more = Object.fromEntries(
    (opts.moreRoutes ?? []).map((name) => [name, route([{ provider: 'a', model: 'm-a' }])]),
  );
  const h = await startHarness({
    fakes: { a: {}, b: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url), b: openaiProvider(f.b.url) },
      routes: {
        chat: route(
          [
            { provider: 'a', model: 'm-a' },
            { provider: 'b', model: 'm-b' },
          ],
          { health: { failureThreshold: 1 } },
        ),
        ...more,
      },
      ...(opts.price === undefined ? {} : { prices: { 'a/m-a': opts.price, 'b/m-b': opts.price } }),
    }),
    // A revoke reaches the gateway within the key cache's TTL, a saved route within the route cache's: short.
    gateway: { keyCacheTtlMs: 100, routeCacheTtlMs: 100 },
  });
  const repo = new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE));
  return {
    h,
    repo,
    async keyOf(opts = {}) {
      const made = newClientKey({ name: 'e2e', ...opts });
      await repo.put(made.record);
      return made;
    },
    get: (path, key = MASTER_KEY) => raw(h.origin, path, { key }),
  };
}

export const listOf = (text: string) =>
  JSON.parse(text) as { object: string; data: Record<string, unknown>[] };

/**
 * One rig for a test file: started before its tests, closed after them. `h` is there once they run; `keyOf`
 * and `get` may be destructured.
 */
export function adminSuite(opts: AdminRigOptions = {}) {
  let rig: AdminRig | undefined;
  beforeAll(async () => {
    rig = await startAdminRig(opts);
  });
  afterAll(async () => rig?.h.close());
  const started = (): AdminRig => {
    if (rig === undefined) throw new Error('the admin rig is not started (use it inside a test)');
    return rig;
  };
  return {
    get h() {
      return started().h;
    },
    get repo() {
      return started().repo;
    },
    keyOf: (opts?: Omit<ClientKeyOptions, 'name'> & { name?: string }) => started().keyOf(opts),
    get: (path: string, key: string | null = MASTER_KEY) => started().get(path, key),
  };
}
