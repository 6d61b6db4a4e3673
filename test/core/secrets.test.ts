import { describe, expect, it } from 'vitest';
import type { Logger } from '../../functions/core/ports.ts';
import { maskedForm, maskingLogger, SecretMasker } from '../../functions/core/secrets.ts';

describe('maskedForm', () => {
  it('keeps a short prefix and the last 4 characters, enough to tell keys apart, never to use one', () => {
    expect(maskedForm('sk-proj-abcdefghijklmnopqrstuvwxyz1234')).toBe('sk-…1234');
    expect(maskedForm('sk-sy-master-0123456789abcdef')).toBe('sk-…cdef');
    // No short prefix before a dash: only the tail.
    expect(maskedForm('QmVhcmVyVG9rZW5Gb3JSZWxheUNv')).toBe('…eUNv');
    // A short key shows nothing of itself.
    expect(maskedForm('abcdefghij')).toBe('…');
  });
});

describe('SecretMasker', () => {
  it('masks every occurrence of every value it holds, whatever its shape', () => {
    const m = new SecretMasker();
    m.add(['plainvaluewithoutprefix-42424242', 'sk-live-abcdefghijklmnop']);
    const text =
      'a plainvaluewithoutprefix-42424242 b sk-live-abcdefghijklmnop c plainvaluewithoutprefix-42424242';
    expect(m.mask(text)).toBe('a …4242 b sk-…mnop c …4242');
  });

  it('masks a longer key whole when a shorter one is part of it', () => {
    const m = new SecretMasker();
    m.add(['abcdefgh12345678', 'abcdefgh12345678-and-more-9999']);
    expect(m.mask('k=abcdefgh12345678-and-more-9999')).toBe('k=…9999');
  });

  it('masks a key as it appears inside a JSON string', () => {
    const m = new SecretMasker();
    m.add(['key"with\\quotes-1234567890']);
    expect(m.mask(JSON.stringify({ echo: 'key"with\\quotes-1234567890' }))).not.toContain(
      'quotes-1234567890',
    );
  });

  it('masks the start of a text without leaving the front half of a key the cut would split', () => {
    const m = new SecretMasker();
    const key = 'ZWxzZXdoZXJlLXJlbGF5LXRva2VuLTQ0NDQ0NDQ0';
    m.add([key]);
    // The cut at 50 falls inside the key: masked first, the key goes whole (and nothing of it is kept).
    const text = `${'a'.repeat(40)}${key}${'b'.repeat(100)}`;
    const start = m.maskStart(text, 50);
    expect(start).not.toContain(key.slice(0, 10));
    expect(start.startsWith('a'.repeat(40))).toBe(true);
    // Earlier keys masked shorter cannot pull a half key into the window either.
    const many = `${key.repeat(20)}${key}`;
    expect(m.maskStart(many, 20 * key.length + 10)).not.toContain(key.slice(0, 10));
  });

  it('ignores values under 8 characters and repeats', () => {
    const m = new SecretMasker();
    m.add(['short', 'abcdefgh', 'abcdefgh']);
    expect(m.size).toBe(1);
    expect(m.mask('short abcdefgh')).toBe('short …');
  });
});

describe('maskingLogger', () => {
  const KEY = 'QmVhcmVyVG9rZW5Gb3JSZWxheUNv9f8e';
  const capture = () => {
    const lines: { message: string; fields: Record<string, unknown> }[] = [];
    const inner: Logger = { log: (_l, message, fields) => lines.push({ message, fields }) };
    return { lines, inner };
  };

  it('masks the message and every string field at any depth, errors included', () => {
    const { lines, inner } = capture();
    const m = new SecretMasker();
    m.add([KEY]);
    maskingLogger(inner, m).log('error', `failed for ${KEY}`, {
      attemptLog: [{ provider: 'a', error: `echo ${KEY}` }],
      nested: { deeper: { text: KEY } },
      error: new Error(`boom ${KEY}`),
      n: 1,
    });
    const out = JSON.stringify(lines);
    expect(out).not.toContain(KEY);
    expect(lines[0]?.message).toBe(`failed for ${maskedForm(KEY)}`);
    expect(lines[0]?.fields.n).toBe(1);
  });

  it('passes a line without a secret through as the same object', () => {
    const { lines, inner } = capture();
    const m = new SecretMasker();
    m.add([KEY]);
    const fields = { requestId: 'r1', attemptLog: [{ provider: 'a' }] };
    maskingLogger(inner, m).log('info', 'request', fields);
    expect(lines[0]?.fields).toBe(fields);
  });
});
