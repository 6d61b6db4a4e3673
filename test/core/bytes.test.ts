import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../functions/core/bytes.ts';

describe('redactSecrets', () => {
  it('masks provider keys in the shapes providers echo them', () => {
    const out = redactSecrets(
      'Incorrect API key provided: sk-proj-abc123DEF456. Use Bearer sk-other-999 next time.',
    );
    expect(out).not.toMatch(/abc123|DEF456|other-999/);
    expect(out).toContain('Incorrect API key provided: sk-[redacted]');
    expect(redactSecrets('key AIzaSyA1234567890abcdef is invalid')).not.toContain('AIzaSyA1234567890');
    expect(redactSecrets('masked sk-**********abcd')).toBe('masked sk-[redacted]');
  });
  it('leaves ordinary text alone', () => {
    expect(redactSecrets("This model's maximum context length is 128000 tokens.")).toBe(
      "This model's maximum context length is 128000 tokens.",
    );
  });
});
