/** Client authentication: the bearer token, checked against the key store. */
import { timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from './errors.ts';
import { type HeaderMap, header } from './http.ts';
import type { KeyStore, Principal } from './ports.ts';

/**
 * The client key: `Authorization: Bearer <key>` (OpenAI's SDKs, and Claude Code with an auth token), else
 * `x-api-key: <key>` (Anthropic's SDK, Claude Code with an API key) — accepted on every endpoint, both being the
 * same client keys. Throws 401 when neither is there.
 */
export function bearerOf(headers: HeaderMap): string {
  const auth = header(headers, 'authorization');
  const m = auth === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (m?.[1] !== undefined) return m[1];
  const apiKey = header(headers, 'x-api-key')?.trim();
  if (apiKey !== undefined && apiKey !== '' && !/\s/.test(apiKey)) return apiKey;
  throw new AuthenticationError({
    code: 'invalid_api_key',
    message: 'Missing API key: send it as "Authorization: Bearer <key>" or "x-api-key: <key>".',
  });
}

export async function authenticate(keys: KeyStore, headers: HeaderMap): Promise<Principal> {
  const principal = await keys.authenticate(bearerOf(headers));
  if (principal === undefined) {
    throw new AuthenticationError({ code: 'invalid_api_key', message: 'Incorrect API key provided.' });
  }
  return principal;
}

/** The master key's principal: every model, and the admin API. */
export const MASTER_PRINCIPAL: Principal = { keyId: 'master', admin: true };

/**
 * The master key: allowed every model. Compared in constant time (only the length can differ early, and the
 * length of a key is no secret). Hashing each bearer first cost more than the rest of auth, per the bench.
 * Per-client keys (the keys issue) come as another KeyStore in front of this one.
 */
export class MasterKeyStore implements KeyStore {
  private readonly key: Buffer;
  constructor(masterKey: string) {
    this.key = Buffer.from(masterKey);
  }
  async authenticate(bearer: string): Promise<Principal | undefined> {
    const given = Buffer.from(bearer);
    return given.length === this.key.length && timingSafeEqual(given, this.key)
      ? MASTER_PRINCIPAL
      : undefined;
  }
}
