import { describe, expect, it } from 'vitest';
import { handler } from '../../functions/aws/reconciler-handler.ts';

describe('reconciler handler (before billing adapters exist)', () => {
  it('reports unverifiable with its reason, never a success', async () => {
    const r = await handler({ mode: 'daily' });
    expect(r).toEqual({
      mode: 'daily',
      verdict: 'unverifiable',
      reason: expect.stringContaining('no billing adapters configured'),
      providers: [],
    });
  });
  it('treats a bare scheduled event as an incremental run and rejects an unknown mode', async () => {
    expect((await handler({ source: 'aws.events' })).mode).toBe('incremental');
    await expect(handler({ mode: 'weekly' })).rejects.toThrow();
  });
});
