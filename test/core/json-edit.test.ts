/** Top-level edits on a JSON text: every byte the gateway does not change reaches the provider as sent. */
import { describe, expect, it } from 'vitest';
import { editJson } from '../../functions/core/json-edit.ts';

const edit = (text: string, ...edits: Parameters<typeof editJson>[1]) =>
  editJson(text, edits, () => JSON.parse(text));

describe('editJson', () => {
  it('replaces the model and keeps every other byte, the order of keys inside tools included', () => {
    const text =
      '{"model":"route","tools":[{"type":"function","function":{"parameters":{"z":1,"a":{"model":"inner"}},"name":"f"}}],"temperature":0.70}';
    expect(edit(text, { set: 'model', value: 'upstream/model' })).toBe(
      '{"model":"upstream/model","tools":[{"type":"function","function":{"parameters":{"z":1,"a":{"model":"inner"}},"name":"f"}}],"temperature":0.70}',
    );
  });

  it('adds a member at the end when missing, and replaces one that is there', () => {
    expect(
      edit('{"model":"m","stream":true}', { set: 'stream_options', value: { include_usage: true } }),
    ).toBe('{"model":"m","stream":true,"stream_options":{"include_usage":true}}');
    expect(
      edit('{"stream_options":{"include_usage":false,"x":1},"model":"m"}', {
        set: 'stream_options',
        value: { include_usage: true, x: 1 },
      }),
    ).toBe('{"stream_options":{"include_usage":true,"x":1},"model":"m"}');
    expect(edit('{}', { set: 'model', value: 'm' })).toBe('{"model":"m"}');
  });

  it('gives back the very text when a value is already what it should be, and edits once otherwise', () => {
    const text = '{ "model" : "gpt-4o-mini", "messages":[{"role":"user","content":"hi"}] }';
    const same = edit(text, { set: 'model', value: 'gpt-4o-mini' });
    expect(same).toBe(text);
    expect(edit(text, { set: 'model', value: 'other' })).toBe(
      '{ "model" : "other", "messages":[{"role":"user","content":"hi"}] }',
    );
  });

  it('finds a key written with escapes as the parser reads it', () => {
    expect(edit('{"mod\\u0065l":"a","x":1}', { set: 'model', value: 'b' })).toBe('{"mod\\u0065l":"b","x":1}');
    expect(edit('{"a\\"b":1}', { set: 'model', value: 'm' })).toBe('{"a\\"b":1,"model":"m"}');
  });

  it('removes members wherever they are, with their comma', () => {
    const text = '{"model":"m","stream":true,"max_tokens":5}';
    expect(edit(text, { delete: 'model' })).toBe('{"stream":true,"max_tokens":5}');
    expect(edit(text, { delete: 'stream' })).toBe('{"model":"m","max_tokens":5}');
    expect(edit(text, { delete: 'max_tokens' })).toBe('{"model":"m","stream":true}');
    expect(edit('{"model":"m"}', { delete: 'model' })).toBe('{}');
    expect(JSON.parse(edit(text, { delete: 'model' }, { delete: 'stream' }, { set: 'x', value: 1 }))).toEqual(
      {
        max_tokens: 5,
        x: 1,
      },
    );
  });

  it('reads strings with escaped quotes and backslashes, and pretty-printed bodies', () => {
    const text = '{\n  "messages": [{"content": "say \\"model\\": \\\\"}],\n  "model" : "m"\n}';
    const out = edit(text, { set: 'model', value: 'x' });
    expect(JSON.parse(out)).toEqual({ messages: [{ content: 'say "model": \\' }], model: 'x' });
    expect(out.startsWith('{\n  "messages": [{"content": "say \\"model\\": \\\\"}],\n  "model" : "x"')).toBe(
      true,
    );
  });

  it('re-serialises a body with a repeated key, so the edit holds whichever one a parser takes', () => {
    const out = edit('{"model":"a","model":"b"}', { set: 'model', value: 'x' });
    expect(out).toBe('{"model":"x"}');
  });
});
