/** The in-memory ResponseStore against the contract every adapter meets. */
import { beforeEach } from 'vitest';
import { MemoryResponseStore } from '../../../functions/core/stores/memory-response-store.ts';
import { responseStoreContract, type StoreUnderTest, T0 } from './response-store-contract.ts';

let sut: StoreUnderTest;
beforeEach(() => {
  const clock = { nowMs: T0 * 1000 };
  sut = { store: new MemoryResponseStore({ epochMs: () => clock.nowMs }), clock };
});

responseStoreContract('MemoryResponseStore', () => sut);
