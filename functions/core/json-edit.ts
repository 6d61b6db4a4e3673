/**
 * Edits of a JSON object's top-level fields made on its text, so what a client sent is what a provider gets
 * (key order, number formats, whitespace and every nested byte kept) except the fields the gateway must
 * change: the target's model name, the usage option it injects, a field a provider's dialect wants gone.
 * The text is the one the gateway already parsed (valid JSON, an object): only the top level is scanned, and
 * strings are skipped with native `indexOf`, so the cost is small next to the parse.
 */

/** Where each top-level member sits: the key's opening quote, the value's start and end, the comma after. */
interface Member {
  readonly key: string;
  readonly start: number;
  readonly valueStart: number;
  readonly valueEnd: number;
}

/** The index just past the string starting at `i` (a `"`). */
function skipString(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q === -1) return text.length;
    let backslashes = 0;
    for (let k = q - 1; text.charCodeAt(k) === 92; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

const WS = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

/** The end of the value that starts at `i` (any JSON value), scanning nested containers. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 34) return skipString(text, i);
  if (c !== 123 && c !== 91) {
    let j = i;
    while (j < text.length) {
      const d = text.charCodeAt(j);
      if (d === 44 || d === 125 || d === 93 || WS(d)) break;
      j++;
    }
    return j;
  }
  let depth = 0;
  let j = i;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === 34) {
      j = skipString(text, j);
      continue;
    }
    if (d === 123 || d === 91) depth++;
    else if (d === 125 || d === 93) {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  return j;
}

/** The top-level members of an object's text, in order, and where its closing brace is. */
function membersOf(text: string): { members: Member[]; close: number } | undefined {
  let i = 0;
  while (i < text.length && WS(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== 123) return undefined;
  i++;
  const members: Member[] = [];
  for (;;) {
    while (i < text.length && (WS(text.charCodeAt(i)) || text.charCodeAt(i) === 44)) i++;
    if (i >= text.length) return undefined;
    if (text.charCodeAt(i) === 125) return { members, close: i };
    if (text.charCodeAt(i) !== 34) return undefined;
    const start = i;
    const keyEnd = skipString(text, i);
    // A key without escapes is its text; only an escaped one needs the JSON parser.
    const raw = text.slice(start + 1, keyEnd - 1);
    const key = raw.includes('\\') ? (JSON.parse(text.slice(start, keyEnd)) as string) : raw;
    i = keyEnd;
    while (i < text.length && (WS(text.charCodeAt(i)) || text.charCodeAt(i) === 58)) i++;
    const valueStart = i;
    const valueEnd = skipValue(text, i);
    members.push({ key, start, valueStart, valueEnd });
    i = valueEnd;
  }
}

export type JsonEdit =
  /** Replace the member's value with this JSON value, or add the member at the end when it is missing. */
  | { readonly set: string; readonly value: unknown }
  /** Remove the member when present. */
  | { readonly delete: string };

/**
 * The object's text with the edits made at the top level (the first occurrence of a key counts, as
 * `JSON.parse` takes the last: a body with a repeated key is re-serialised instead, so the edit holds for
 * whatever the provider's parser takes). Returns the text re-serialised from `fallback` when the text is not
 * a JSON object it can scan.
 */
export function editJson(text: string, edits: readonly JsonEdit[], fallback: () => unknown): string {
  const found = membersOf(text);
  const keys = found?.members.map((m) => m.key);
  if (found === undefined || keys === undefined || new Set(keys).size !== keys.length) {
    const obj = { ...(fallback() as Record<string, unknown>) };
    for (const e of edits) {
      if ('set' in e) obj[e.set] = e.value;
      else delete obj[e.delete];
    }
    return JSON.stringify(obj);
  }
  // Apply from the end of the text backwards so earlier offsets stay valid.
  type Splice = { from: number; to: number; insert: string };
  const splices: Splice[] = [];
  const appended: string[] = [];
  for (const e of edits) {
    const key = 'set' in e ? e.set : e.delete;
    const i = keys.indexOf(key);
    const m = i === -1 ? undefined : found.members[i];
    if ('set' in e) {
      const value = JSON.stringify(e.value);
      // A value already as it should be (the client named the target's own model) is left alone.
      if (m === undefined) appended.push(`${JSON.stringify(key)}:${value}`);
      else if (text.slice(m.valueStart, m.valueEnd) !== value) {
        splices.push({ from: m.valueStart, to: m.valueEnd, insert: value });
      }
    } else if (m !== undefined) {
      // The member and the comma that joins it to the next one (or to the previous one, when it is last).
      const next = found.members[i + 1];
      const prev = found.members[i - 1];
      if (next !== undefined) splices.push({ from: m.start, to: next.start, insert: '' });
      else if (prev !== undefined) splices.push({ from: prev.valueEnd, to: m.valueEnd, insert: '' });
      else splices.push({ from: m.start, to: m.valueEnd, insert: '' });
    }
  }
  let out = text;
  if (appended.length > 0) {
    const remaining =
      found.members.length - edits.filter((e) => 'delete' in e && keys.includes(e.delete)).length;
    const joiner = remaining > 0 ? ',' : '';
    splices.push({ from: found.close, to: found.close, insert: `${joiner}${appended.join(',')}` });
  }
  if (splices.length === 0) return text;
  splices.sort((a, b) => b.from - a.from);
  for (const s of splices) out = out.slice(0, s.from) + s.insert + out.slice(s.to);
  return out;
}
