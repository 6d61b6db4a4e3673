import { describe, expect, it } from 'vitest';
import { noneBilling } from '../../../../functions/core/billing/adapters/none.ts';

describe('noneBilling', () => {
  it('is a bill of kind none with nothing to read, so the report is the ledger alone (unverifiable)', () => {
    expect(noneBilling).toStrictEqual({ type: 'none', kind: 'none' });
  });
});
