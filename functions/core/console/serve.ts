/**
 * The console (issue 17): three static files the gateway serves itself — `/console` (the page),
 * `/console/app.js`, `/console/app.css` — with no authentication, because they hold nothing: every figure the
 * page shows comes from the admin API (`/admin/v1/…`), which takes an admin key as a bearer header, entered in
 * the page and kept in the tab's sessionStorage (no cookie, so nothing for another site to ride on).
 *
 * The Content-Security-Policy lets the page run only its own script and style, talk only to its own origin,
 * and be framed by no one; the script writes every outside text as DOM text, never as markup.
 */
import { type GatewayRequest, type GatewayResponse, header } from '../http.ts';
import { PAGE, SCRIPT, STYLE } from './assets.ts';
import type { ConsoleAsset } from './types.ts';

export const CONSOLE_PATHS: ReadonlyMap<string, ConsoleAsset> = new Map([
  ['/console', PAGE],
  ['/console/app.js', SCRIPT],
  ['/console/app.css', STYLE],
]);

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  // No script may turn a string into markup (the page never does: a future innerHTML would fail closed).
  "require-trusted-types-for 'script'",
].join('; ');

const encoder = new TextEncoder();
/** Each asset's bytes, encoded once, on first use. */
const bytes = new Map<ConsoleAsset, Uint8Array>();

/** The answer to a GET of a console path (200, or 304 when the client's copy is current). */
export function consoleResponse(
  req: GatewayRequest,
  asset: ConsoleAsset,
  requestId: string,
): GatewayResponse {
  const headers = {
    'content-type': asset.type,
    'x-request-id': requestId,
    etag: asset.etag,
    'cache-control': 'no-cache',
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
  if (header(req.headers, 'if-none-match') === asset.etag)
    return { status: 304, headers, body: new Uint8Array() };
  let body = bytes.get(asset);
  if (body === undefined) {
    body = encoder.encode(asset.body);
    bytes.set(asset, body);
  }
  return { status: 200, headers, body };
}
