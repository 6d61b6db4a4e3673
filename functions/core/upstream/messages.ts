/**
 * What of an upstream's failure may reach a client, and what only the log line gets. DESIGN.md: a 4xx message
 * (useful: context length) may reach the client with every provider key value masked; a 5xx body, an HTML page
 * or an auth failure's text never does — the client reads the gateway's own summary naming the provider id and
 * the upstream status, and the upstream text (masked, truncated) goes to the log line only.
 */
import { redactSecrets } from '../bytes.ts';
import type { FailureKind } from '../routing/failure.ts';
import type { SecretMasker } from '../secrets.ts';

/** Upstream text a log line keeps, at most. */
export const DETAIL_CHARS = 500;
/** An upstream's own message passed on to a client, at most. */
export const CLIENT_MESSAGE_CHARS = 1000;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** Every secret the gateway holds masked by value, known key shapes masked too, cut to `max` characters. */
export function scrub(secrets: SecretMasker, text: string, max: number): string {
  // Masked before it is cut (bounded work on a huge body, and no half of a key left by the cut).
  return clip(redactSecrets(secrets.maskStart(text, max + 256)), max);
}

/** The upstream text for the log line: masked, whitespace collapsed (an HTML page stays one line), cut short. */
export function detailOf(secrets: SecretMasker, text: string): string | undefined {
  const flat = secrets
    .maskStart(text, DETAIL_CHARS * 4)
    .replace(/\s+/g, ' ')
    .trim();
  return flat === '' ? undefined : clip(redactSecrets(flat), DETAIL_CHARS);
}

/** A code or param an upstream sent, passed on only when it looks like one (a short identifier), masked. */
export function tokenOf(secrets: SecretMasker, value: string | undefined, max = 64): string | undefined {
  if (value === undefined || value.length > max || !/^[A-Za-z0-9_.:[\]-]+$/.test(value)) return undefined;
  // A key the gateway holds, or anything shaped like one, is no code.
  return secrets.mask(value) === value && redactSecrets(value) === value ? value : undefined;
}

/**
 * The gateway's own words for an upstream failure whose text the client may not read; `how` says where the
 * failure came from when there is no status (`an error event in its stream`).
 */
export function summaryOf(
  provider: string,
  kind: FailureKind,
  status: number | undefined,
  how?: string,
): string {
  const http = status !== undefined ? ` (HTTP ${status})` : how !== undefined ? ` (${how})` : '';
  switch (kind) {
    case 'auth':
      return `${provider} rejected the gateway's API key for it${http}; check the provider keys`;
    case 'balance':
      return `${provider} says the account has no balance left${http}`;
    case 'rate_limited':
      return `${provider} is rate limiting${http}`;
    case 'bad_request':
    case 'target_refused':
      return `${provider} refused the request${http}`;
    case 'unreachable':
      return `${provider} could not be reached`;
    case 'too_large':
      return `${provider} sent an answer larger than the gateway accepts`;
    default:
      return `${provider} failed${http}`;
  }
}

/**
 * The client's message for an upstream error: the upstream's own text only when the upstream refused the
 * request itself (the client's to fix) and said so in a structured error body; else {@link summaryOf}.
 */
export function clientMessageOf(
  secrets: SecretMasker,
  provider: string,
  kind: FailureKind,
  status: number | undefined,
  upstream: { readonly message: string; readonly raw?: boolean },
  how?: string,
): string {
  const theirs = (kind === 'bad_request' || kind === 'target_refused') && upstream.raw !== true;
  return theirs
    ? scrub(secrets, upstream.message, CLIENT_MESSAGE_CHARS)
    : summaryOf(provider, kind, status, how);
}
