/** Request ids: the client's `x-request-id` when it is sane, else a time-sortable UUIDv7. */
import { uuidv7 } from 'uuidv7';

const SAFE = /^[\w.:@/+=-]{1,128}$/;

export function requestIdFrom(given: string | undefined): string {
  return given !== undefined && SAFE.test(given) ? given : uuidv7();
}
