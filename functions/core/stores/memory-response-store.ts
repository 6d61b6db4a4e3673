/**
 * A {@link ResponseStore} in memory: the reference adapter the contract tests hold the DynamoDB one to, and a
 * store for a gateway that keeps nothing across restarts. Records are copied in and out, as a real store
 * would, so a caller that edits what it put or got changes nothing stored.
 */
import type { Clock } from '../ports.ts';
import {
  assertStorable,
  isExpired,
  type ReadOptions,
  type ResponseStore,
  ResponseStoreError,
  type StoredResponse,
} from './response-store.ts';

export class MemoryResponseStore implements ResponseStore {
  private readonly byId = new Map<string, StoredResponse>();

  constructor(private readonly clock: Pick<Clock, 'epochMs'>) {}

  async put(response: StoredResponse): Promise<void> {
    assertStorable(response);
    if (this.byId.has(response.id)) {
      throw new ResponseStoreError('id_taken', `response ${response.id} is already stored`);
    }
    this.byId.set(response.id, structuredClone(response));
  }

  async get(id: string, opts: ReadOptions = {}): Promise<StoredResponse | undefined> {
    opts.signal?.throwIfAborted();
    const r = this.byId.get(id);
    if (r === undefined || isExpired(r, this.clock.epochMs())) return undefined;
    return opts.keyId !== undefined && r.keyId !== opts.keyId ? undefined : structuredClone(r);
  }

  async delete(id: string): Promise<boolean> {
    const r = this.byId.get(id);
    this.byId.delete(id);
    return r !== undefined && !isExpired(r, this.clock.epochMs());
  }
}
