/** The local host's environment (functions/local/settings.ts): parsed once at start, a bad value named. */
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../functions/local/settings.ts';

describe('parseEnv', () => {
  it('keeps stored responses 30 days unless SWITCHYARD_RESPONSES_TTL_DAYS says otherwise (whole days, 1–3650)', () => {
    expect(parseEnv({}).SWITCHYARD_RESPONSES_TTL_DAYS).toBe(30);
    expect(parseEnv({ SWITCHYARD_RESPONSES_TTL_DAYS: '1' }).SWITCHYARD_RESPONSES_TTL_DAYS).toBe(1);
    expect(parseEnv({ SWITCHYARD_RESPONSES_TTL_DAYS: '365' }).SWITCHYARD_RESPONSES_TTL_DAYS).toBe(365);
    for (const bad of ['0', '-3', '1.5', 'forever', '3651']) {
      expect(() => parseEnv({ SWITCHYARD_RESPONSES_TTL_DAYS: bad })).toThrow(/SWITCHYARD_RESPONSES_TTL_DAYS/);
    }
  });
});
