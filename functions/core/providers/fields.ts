/**
 * OpenAI request field → provider request field, as data (STYLE.md rule 2, after Portkey's param tables).
 * Each native adapter declares one {@link FieldTable}; {@link applyFieldTable} is the one function that
 * applies any of them. A field the provider cannot honour is either translated (a rule), dropped with a
 * warning for the log line (`'drop'`), or rejected with a 400 naming it (`'reject'`) — the table says which.
 */

import type { Json } from '../json.ts';
import { UnsupportedFieldError } from './types.ts';

export interface FieldContext {
  /** The whole OpenAI request body (a rule may look at other fields). */
  readonly body: Readonly<Json>;
  /** The upstream model of the target. */
  readonly model: string;
  /** Collects a warning for the request's log line. */
  warn(message: string): void;
}

export interface FieldRule {
  /** Dot path in the provider body the (transformed) value goes to, e.g. `generationConfig.temperature`. */
  readonly param?: string;
  /** Used when the client did not send the field (or sent null). */
  readonly default?: unknown | ((ctx: FieldContext) => unknown);
  /** Numbers are clamped into [min, max] (with a warning). */
  readonly min?: number;
  readonly max?: number;
  /**
   * Value → provider value. Returning undefined sets nothing (the field needs nothing upstream, e.g. `n: 1`);
   * it may throw {@link UnsupportedFieldError} for values the provider cannot honour.
   */
  readonly transform?: (value: unknown, ctx: FieldContext) => unknown;
  /** Writes several provider fields at once (e.g. `messages` → `system` + `messages`); replaces `param`. */
  readonly write?: (out: Json, value: unknown, ctx: FieldContext) => void;
  /** Why the row is what it is, and the provider doc it follows. */
  readonly doc?: string;
}

/** `'drop'`: the provider has no equivalent and ignoring it is harmless; `'reject'`: ignoring it would lie. */
export type FieldPolicy = FieldRule | 'drop' | 'reject';
export type FieldTable = Readonly<Record<string, FieldPolicy>>;

/** Unknown fields named one by one in the log line; the rest are counted. */
const MAX_UNKNOWN_WARNINGS = 10;
/** A field name from the client, as the log line shows it. */
const nameForLog = (field: string): string => (field.length <= 64 ? field : `${field.slice(0, 64)}…`);

/** Fields that are the gateway's own business, never a provider's: handled before any table. */
const GATEWAY_FIELDS: ReadonlySet<string> = new Set(['model', 'stream_options']);

/** Sets `out[a][b]… = value` for the dot path `a.b…`, creating objects on the way. */
export function setPath(out: Json, path: string, value: unknown): void {
  const parts = path.split('.');
  let at: Json = out;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i] as string;
    const next = at[k];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) at = next as Json;
    else {
      const made: Json = {};
      at[k] = made;
      at = made;
    }
  }
  at[parts[parts.length - 1] as string] = value;
}

function clamp(field: string, v: unknown, rule: FieldRule, ctx: FieldContext): unknown {
  if (typeof v !== 'number') return v;
  if (rule.max !== undefined && v > rule.max) {
    ctx.warn(`${field} ${v} clamped to ${rule.max}`);
    return rule.max;
  }
  if (rule.min !== undefined && v < rule.min) {
    ctx.warn(`${field} ${v} clamped to ${rule.min}`);
    return rule.min;
  }
  return v;
}

/**
 * Applies a table to an OpenAI body. Fields absent from the table are dropped with a warning (an unknown
 * field cannot be passed to a provider whose API does not know it). Throws {@link UnsupportedFieldError}.
 */
export function applyFieldTable(
  table: FieldTable,
  body: Readonly<Json>,
  model: string,
  provider: string,
): { out: Json; warnings: string[] } {
  const warnings: string[] = [];
  const ctx: FieldContext = { body, model, warn: (m) => warnings.push(m) };
  const out: Json = {};
  for (const [field, policy] of Object.entries(table)) {
    const raw = body[field];
    const present = raw !== undefined && raw !== null;
    if (policy === 'drop') {
      if (present) warnings.push(`${field} dropped: ${provider} has no equivalent`);
      continue;
    }
    if (policy === 'reject') {
      if (present) throw new UnsupportedFieldError(field, `'${field}' is not supported by ${provider}.`);
      continue;
    }
    let value: unknown = present ? raw : undefined;
    if (!present && policy.default !== undefined) {
      value = typeof policy.default === 'function' ? policy.default(ctx) : policy.default;
    }
    if (value === undefined) continue;
    if (present && policy.transform !== undefined) value = policy.transform(value, ctx);
    if (value === undefined) continue;
    value = clamp(field, value, policy, ctx);
    if (policy.write !== undefined) policy.write(out, value, ctx);
    else setPath(out, policy.param ?? field, value);
  }
  // Names the client chose go into the log line: each is cut short, and past a few the rest are counted.
  const unknown = Object.keys(body).filter(
    (field) => !Object.hasOwn(table, field) && !GATEWAY_FIELDS.has(field) && body[field] !== undefined,
  );
  for (const field of unknown.slice(0, MAX_UNKNOWN_WARNINGS)) {
    warnings.push(`${nameForLog(field)} dropped: not a field the ${provider} adapter knows`);
  }
  if (unknown.length > MAX_UNKNOWN_WARNINGS) {
    warnings.push(`${unknown.length - MAX_UNKNOWN_WARNINGS} more unknown fields dropped`);
  }
  return { out, warnings };
}

/** `stop: "x" | ["x", …]` → a list. */
export function stopList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string');
  return undefined;
}

/** `n` is honoured only as 1 by providers with one candidate per call. */
export function onlyOne(provider: string) {
  return (value: unknown): undefined => {
    if (value !== 1) throw new UnsupportedFieldError('n', `n > 1 is not supported by ${provider}.`);
    return undefined;
  };
}
export type { Json };
