/**
 * Every secret value the gateway holds — provider keys, the master key, billing keys — masked by its exact
 * value wherever text leaves the process: answers to clients, log lines, reports, the spool. Known key
 * prefixes (`redactSecrets` in bytes.ts) catch a provider's echo of a key the gateway does not hold; this
 * catches the ones it does, whatever their format.
 *
 * The hosts fill one masker as they load keys (a rotated secret adds its new values; old ones stay masked)
 * and pass it to the gateway and their logger.
 */
import type { Logger } from './ports.ts';

/** Values shorter than this are not treated as secrets: masking "abc" would rewrite ordinary text. */
export const MIN_SECRET_LENGTH = 8;

/**
 * A secret as it may be shown: a short prefix (up to its first `-`, at most 3 characters) and its last 4
 * characters — `sk-…abcd` — enough to tell which key it is, never enough to use it.
 */
export function maskedForm(secret: string): string {
  const dash = secret.indexOf('-');
  const prefix = dash > 0 && dash <= 3 ? secret.slice(0, dash + 1) : '';
  const tail = secret.length >= 16 ? secret.slice(-4) : '';
  return `${prefix}…${tail}`;
}

export class SecretMasker {
  /** Longest first, so a key that contains another is masked whole. */
  private values: string[] = [];
  private readonly known = new Set<string>();

  /** Adds secret values (repeats and short values are ignored). */
  add(values: Iterable<string>): void {
    let changed = false;
    for (const v of values) {
      if (v.length < MIN_SECRET_LENGTH || this.known.has(v)) continue;
      this.known.add(v);
      this.values.push(v);
      // The same value as it appears inside a JSON string (a key echoed in a JSON body).
      const escaped = JSON.stringify(v).slice(1, -1);
      if (escaped !== v && !this.known.has(escaped)) {
        this.known.add(escaped);
        this.values.push(escaped);
      }
      changed = true;
    }
    if (changed) this.values.sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.known.size;
  }

  /**
   * The first `size` characters of a text, masked — moved past any key the cut at `size` would split (a cut
   * first, then a mask, could leave the front half of a key unmasked). Bounded work on a huge body.
   */
  maskStart(text: string, size: number): string {
    if (text.length <= size) return this.mask(text);
    let cut = size;
    for (let moved = true; moved && cut < text.length; ) {
      moved = false;
      for (const v of this.values) {
        const at = text.indexOf(v, Math.max(0, cut - v.length + 1));
        if (at !== -1 && at < cut && at + v.length > cut) {
          cut = at + v.length;
          moved = true;
        }
      }
    }
    return this.mask(text.slice(0, cut));
  }

  /** The text with every known secret replaced by its {@link maskedForm}. */
  mask(text: string): string {
    let out = text;
    for (const v of this.values) {
      if (out.includes(v)) out = out.replaceAll(v, maskedForm(v));
    }
    return out;
  }
}

/** A masker that knows no secret: for hosts and tests that hold none. */
export const NO_SECRETS = new SecretMasker();

/**
 * A JSON-like value with every string in it masked; the very same value when nothing changed, so a log line
 * without a secret (nearly all of them) costs one `includes` per string and secret, and no allocation.
 */
function maskValue(masker: SecretMasker, v: unknown, depth: number): unknown {
  if (typeof v === 'string') return masker.mask(v);
  if (typeof v !== 'object' || v === null || depth > 32) return v;
  if (v instanceof Error) return masker.mask(String(v.stack ?? v.message));
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const m = maskValue(masker, v[i], depth + 1);
      if (m === v[i]) continue;
      if (out === undefined) out = [...v];
      out[i] = m;
    }
    return out ?? v;
  }
  let out: Record<string, unknown> | undefined;
  const record = v as Record<string, unknown>;
  for (const k of Object.keys(record)) {
    const m = maskValue(masker, record[k], depth + 1);
    if (m === record[k]) continue;
    if (out === undefined) out = { ...record };
    out[k] = m;
  }
  return out ?? v;
}

/**
 * The logger with every secret the masker knows taken out of each line: the message and every string field,
 * however deep (an error's text, an attempt's upstream detail). The core never logs a key on purpose; this
 * holds when an upstream or an error message echoes one.
 */
export function maskingLogger(inner: Logger, masker: SecretMasker): Logger {
  return {
    log(level, message, fields) {
      if (masker.size === 0) return inner.log(level, message, fields);
      inner.log(level, masker.mask(message), maskValue(masker, fields, 0) as Record<string, unknown>);
    },
  };
}
