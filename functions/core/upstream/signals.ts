/**
 * The one way signals are linked: a request's signal aborts its own controller (client gone → the request's
 * deadline controller → each attempt's controller), and every link is undone when its owner is over, so a
 * long-lived signal does not collect listeners.
 */

/**
 * Aborts `target` when `source` aborts (at once when it already has), with `reason` (default: the source's
 * own reason). Returns the unlink, to call when the target's owner is done with it.
 */
export function linkAbort(
  source: AbortSignal | undefined,
  target: AbortController,
  reason: (source: AbortSignal) => unknown = (s) => s.reason,
): () => void {
  if (source === undefined) return () => undefined;
  const onAbort = () => target.abort(reason(source));
  if (source.aborted) {
    onAbort();
    return () => undefined;
  }
  source.addEventListener('abort', onAbort, { once: true });
  return () => source.removeEventListener('abort', onAbort);
}
