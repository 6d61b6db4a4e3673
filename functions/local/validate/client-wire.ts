/** Small pieces of the validator's client (./client.ts): reading a chunk, headers, and a call with no answer. */
import { performance } from 'node:perf_hooks';
import { isRecord } from '../../core/json.ts';
import type { HttpOutcome } from './client.ts';

/** A chat chunk's content and tool-call argument text. */
export function deltaOf(json: unknown): { content: string; args: string } {
  if (!isRecord(json) || !Array.isArray(json.choices)) return { content: '', args: '' };
  const c = json.choices[0];
  const delta = isRecord(c) && isRecord(c.delta) ? c.delta : {};
  const content = typeof delta.content === 'string' ? delta.content : '';
  let args = '';
  if (Array.isArray(delta.tool_calls)) {
    for (const t of delta.tool_calls) {
      if (isRecord(t) && isRecord(t.function) && typeof t.function.arguments === 'string')
        args += t.function.arguments;
    }
  }
  return { content, args };
}

/** Node's headers as one lower-cased string per name. */
export function flatHeaders(
  h: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** A call that got no answer: timed out, or the network failed. */
export function failed(t0: number, timedOut: boolean, err: unknown): HttpOutcome {
  return {
    status: null,
    headers: {},
    text: '',
    json: undefined,
    latencyMs: performance.now() - t0,
    timedOut,
    networkError: timedOut ? 'timed out' : err instanceof Error ? err.message : String(err),
    usage: undefined,
  };
}
