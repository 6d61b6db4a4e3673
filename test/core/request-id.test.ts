import { describe, expect, it } from 'vitest';
import { requestIdFrom, uuidv7 } from '../../functions/core/request-id.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('has the RFC 9562 layout: version 7, variant 10', () => {
    for (let i = 0; i < 2000; i++) expect(uuidv7()).toMatch(V7);
  });

  it('starts with the Unix milliseconds, so ids sort by time', () => {
    const id = uuidv7(Date.parse('2026-11-24T10:00:00Z'));
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(Date.parse('2026-11-24T10:00:00Z'));
    expect(uuidv7(1000) < uuidv7(2000)).toBe(true);
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => uuidv7(42)));
    expect(ids.size).toBe(10_000);
  });
});

describe('requestIdFrom', () => {
  it("keeps the client's id when it is sane and replaces it otherwise", () => {
    expect(requestIdFrom('req_abc-123.x')).toBe('req_abc-123.x');
    expect(requestIdFrom('bad id with spaces')).toMatch(V7);
    expect(requestIdFrom('x'.repeat(129))).toMatch(V7);
    expect(requestIdFrom(undefined)).toMatch(V7);
  });
});
