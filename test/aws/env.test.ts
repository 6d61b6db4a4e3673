/** The gateway function's environment (functions/aws/env.ts): parsed once at cold start, a bad value named. */
import { describe, expect, it } from 'vitest';
import { parseLambdaEnv } from '../../functions/aws/env.ts';

/** What the stack sets on the gateway function (lib/gateway-function.ts), TTL aside. */
const STACK_ENV = {
  SWITCHYARD_CONFIG_TABLE: 'config',
  SWITCHYARD_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sy',
  SWITCHYARD_KEYS_TABLE: 'keys',
  SWITCHYARD_USAGE_TABLE: 'usage',
  SWITCHYARD_RESPONSES_TABLE: 'responses',
};

describe('parseLambdaEnv', () => {
  it('needs the stored-Responses table, and names the variable when it is missing', () => {
    expect(parseLambdaEnv(STACK_ENV).SWITCHYARD_RESPONSES_TABLE).toBe('responses');
    const { SWITCHYARD_RESPONSES_TABLE: _, ...without } = STACK_ENV;
    expect(() => parseLambdaEnv(without)).toThrow(/SWITCHYARD_RESPONSES_TABLE/);
  });

  it('keeps stored responses 30 days unless SWITCHYARD_RESPONSES_TTL_DAYS says otherwise (whole days, 1–3650)', () => {
    expect(parseLambdaEnv(STACK_ENV).SWITCHYARD_RESPONSES_TTL_DAYS).toBe(30);
    expect(
      parseLambdaEnv({ ...STACK_ENV, SWITCHYARD_RESPONSES_TTL_DAYS: '7' }).SWITCHYARD_RESPONSES_TTL_DAYS,
    ).toBe(7);
    for (const bad of ['0', '2.5', 'week', '3651']) {
      const env = { ...STACK_ENV, SWITCHYARD_RESPONSES_TTL_DAYS: bad };
      expect(() => parseLambdaEnv(env)).toThrow(/SWITCHYARD_RESPONSES_TTL_DAYS/);
      // The message names the variable, never its value.
      expect(() => parseLambdaEnv(env)).not.toThrow(new RegExp(`"${bad}"`));
    }
  });
});
