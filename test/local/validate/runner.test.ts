/** The runner's guarantees, with checks made for the purpose (no network): caps, keys, shown URLs. */
import { afterAll, describe, expect, it } from 'vitest';
import { createUndiciClient } from '../../../functions/core/upstream/undici-client.ts';
import { localTokenCounter } from '../../../functions/local/token-counter.ts';
import { BudgetExhausted } from '../../../functions/local/validate/client.ts';
import { runSubject, runValidation, shownUrl } from '../../../functions/local/validate/runner.ts';
import { type Check, DEFAULT_LIMITS, type Subject } from '../../../functions/local/validate/types.ts';

const http = createUndiciClient();
const deps = { http, tokens: localTokenCounter(), sleep: async () => {}, now: () => new Date(0) };
const KEY = 'gsk_9f8e7d6c5b4a39281706';
afterAll(() => http.close());
const subject: Subject = { name: 'r', baseUrl: 'https://relay.example/v1', key: KEY, model: 'm' };

const capped = (required: boolean): Check => ({
  name: required ? 'needed' : 'extra',
  suite: 'billing',
  title: 'cut short by the cap',
  required,
  run: async () => {
    throw new BudgetExhausted("the run's cap of 3 requests is reached");
  },
});

describe('runSubject', () => {
  it('fails a required check the caps cut short, and skips an optional one', async () => {
    const r = await runValidation([subject], [capped(true), capped(false)], DEFAULT_LIMITS, deps);
    expect(r.subjects[0]?.checks.map((c) => [c.id, c.status])).toEqual([
      ['billing.needed', 'fail'],
      ['billing.extra', 'skipped'],
    ]);
    expect(r.subjects[0]?.checks[0]?.summary).toMatch(/^not completed: .*raise --max-requests/);
    expect(r.passed).toBe(false);
  });

  it("takes the subject's own key out of what a check reports, whatever its format", async () => {
    const echo: Check = {
      name: 'echo',
      suite: 'exceptions',
      title: 'a relay that echoes the key',
      required: true,
      run: async () => ({
        status: 'pass',
        summary: `relay said: invalid key ${KEY}`,
        evidence: { body: { error: { message: `key ${KEY} rejected` } } },
      }),
    };
    const r = await runSubject(subject, [echo], DEFAULT_LIMITS, deps);
    expect(JSON.stringify(r)).not.toContain(KEY);
    expect(r.checks[0]?.summary).toBe('relay said: invalid key [key]');
  });
});

describe('shownUrl', () => {
  it('masks user info and query values, where keys hide', () => {
    expect(shownUrl('https://u:pw@relay.example/v1?api_key=SECRET')).toBe(
      'https://***@relay.example/v1?api_key=***',
    );
    expect(shownUrl('https://relay.example/v1')).toBe('https://relay.example/v1');
  });
});
