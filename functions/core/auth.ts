/** Client authentication: the bearer token, checked against the key store. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from './errors.ts';
import { type HeaderMap, header } from './http.ts';
import type { KeyStore, Principal } from './ports.ts';

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Reads `Authorization: Bearer <key>`; throws 401 when it is missing. */
export function bearerOf(headers: HeaderMap): string {
  const auth = header(headers, 'authorization');
  const m = auth === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (m?.[1] === undefined) {
    throw new AuthenticationError({
      code: 'invalid_api_key',
      message: 'Missing API key: send it as "Authorization: Bearer <key>".',
    });
  }
  return m[1];
}

export async function authenticate(keys: KeyStore, headers: HeaderMap): Promise<Principal> {
  const principal = await keys.authenticate(bearerOf(headers));
  if (principal === undefined) {
    throw new AuthenticationError({ code: 'invalid_api_key', message: 'Incorrect API key provided.' });
  }
  return principal;
}

/**
 * The master key: allowed every model. Only its SHA-256 is kept, and the comparison takes constant time.
 * Per-client keys (the keys issue) come as another KeyStore in front of this one.
 */
export class MasterKeyStore implements KeyStore {
  private readonly digest: Buffer;
  constructor(masterKey: string) {
    this.digest = sha256(masterKey);
  }
  async authenticate(bearer: string): Promise<Principal | undefined> {
    return timingSafeEqual(sha256(bearer), this.digest) ? { keyId: 'master' } : undefined;
  }
}
