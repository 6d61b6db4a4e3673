/** Request ids: the client's `x-request-id` when it is sane, else a time-sortable UUIDv7. */
import { randomFillSync } from 'node:crypto';

const SAFE = /^[\w.:@/+=-]{1,128}$/;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// Random bytes are drawn 4 KiB at a time: one syscall per 512 ids instead of one per few ids.
const pool = new Uint8Array(4096);
let offset = pool.length;

/** RFC 9562 UUIDv7: 48-bit Unix milliseconds, version 7, variant 10, 74 random bits. */
export function uuidv7(now = Date.now()): string {
  if (offset + 10 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const r = pool.subarray(offset, offset + 10);
  offset += 10;
  const ts = now.toString(16).padStart(12, '0');
  const h = (i: number) => HEX[r[i] ?? 0];
  return (
    `${ts.slice(0, 8)}-${ts.slice(8, 12)}-` +
    `7${HEX[r[0] ?? 0]?.[1]}${h(1)}-${HEX[((r[2] ?? 0) & 0x3f) | 0x80]}${h(3)}-` +
    `${h(4)}${h(5)}${h(6)}${h(7)}${h(8)}${h(9)}`
  );
}

export function requestIdFrom(given: string | undefined): string {
  return given !== undefined && SAFE.test(given) ? given : uuidv7();
}
