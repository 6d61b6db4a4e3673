/** One file of the console (./assets.ts): its content type, ETag and text. */
export interface ConsoleAsset {
  readonly type: string;
  /** A strong ETag: the text's SHA-256, base64url, quoted. */
  readonly etag: string;
  readonly body: string;
}
