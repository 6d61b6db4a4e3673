/** Byte helpers shared by the request and the upstream side. */

/** Stateless decodes only (no `stream: true`), so one decoder serves every request. */
export const utf8 = new TextDecoder();

export function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Masks what looks like a credential in text that came from a provider (error messages echo keys:
 * "Incorrect API key provided: sk-…"). Applied before an upstream message reaches a client or a log line.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b(sk|rk|pk|ak|key)[-_][A-Za-z0-9*_.-]{4,}/gi, '$1-[redacted]')
    .replace(/\bBearer\s+\S+/gi, 'Bearer [redacted]')
    .replace(/\b(AIza|AKIA|ASIA)[A-Za-z0-9_-]{8,}/g, '[redacted]');
}
