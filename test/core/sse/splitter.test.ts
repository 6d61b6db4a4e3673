import { describe, expect, it } from 'vitest';
import {
  parseEvents,
  SseDecoder,
  SseEventTooLargeError,
  SseSplitter,
} from '../../../functions/core/sse/splitter.ts';

describe('SseSplitter', () => {
  it('forwards whole events as they complete and holds back a partial one', () => {
    const s = new SseSplitter();
    expect(s.push('data: {"a":1}\n\ndata: {"b"')).toBe('data: {"a":1}\n\n');
    expect(s.pending).toBe('data: {"b"');
    expect(s.push(':2}\n')).toBe('');
    expect(s.push('\ndata: [DONE]\n\n')).toBe('data: {"b":2}\n\ndata: [DONE]\n\n');
    expect(s.pending).toBe('');
  });

  it('returns a chunk that holds exactly whole events as the same text', () => {
    const s = new SseSplitter();
    const text = 'data: x\n\ndata: y\n\n';
    expect(s.push(text)).toBe(text);
  });

  it('finds a blank line split between two chunks', () => {
    const s = new SseSplitter();
    expect(s.push('data: a\n')).toBe('');
    expect(s.push('\ndata: b')).toBe('data: a\n\n');
    expect(s.pending).toBe('data: b');
  });

  it('refuses an event that grows past its bound without ending, instead of holding it all', () => {
    const s = new SseSplitter(1000);
    expect(s.push(`data: ${'x'.repeat(900)}`)).toBe('');
    expect(() => s.push('x'.repeat(200))).toThrow(SseEventTooLargeError);
    // An event under the bound that ends is forwarded whole, however many chunks it took.
    const t = new SseSplitter(1000);
    for (let i = 0; i < 9; i++) expect(t.push('x'.repeat(100))).toBe('');
    expect(t.push('\n\n')).toBe(`${'x'.repeat(900)}\n\n`);
  });

  it('normalises CRLF line endings, even when split between chunks', () => {
    const s = new SseSplitter();
    expect(s.push('data: a\r\n\r')).toBe('');
    expect(s.push('\ndata: b\r\n\r\n')).toBe('data: a\n\ndata: b\n\n');
  });
});

describe('parseEvents', () => {
  it('joins multi-line data, keeps event names and skips comments', () => {
    const events = parseEvents(
      ': keep-alive\n\nevent: message_start\ndata: {"a":\ndata: 1}\n\ndata:[DONE]\n\n',
    );
    expect(events).toEqual([{ event: 'message_start', data: '{"a":\n1}' }, { data: '[DONE]' }]);
  });
});

describe('SseDecoder', () => {
  it('decodes characters split across chunks and returns whole events only', () => {
    const bytes = new TextEncoder().encode('data: {"c":"é€"}\n\ndata: tail');
    const d = new SseDecoder();
    let out = '';
    for (let i = 0; i < bytes.length; i += 3) out += d.push(bytes.subarray(i, i + 3));
    expect(out).toBe('data: {"c":"é€"}\n\n');
    expect(d.end()).toBe('data: tail\n\n');
  });

  it('closes a last event that ended with a single newline, and gives nothing for an empty tail', () => {
    const d = new SseDecoder();
    expect(d.push(new TextEncoder().encode('data: [DONE]\n'))).toBe('');
    expect(parseEvents(d.end())).toEqual([{ data: '[DONE]' }]);
    expect(new SseDecoder().end()).toBe('');
  });
});
