/**
 * Keeps a dropped response connection from killing the execution environment.
 *
 * When the runtime API drops the connection that carries a streamed response (`socket hang up`, ECONNRESET),
 * the Lambda Node.js runtime client (aws-lambda-ric, src/ResponseStream.js) rejects two promises of its own with
 * that connection's error: `headersDone`, which it never awaits, and `responseDone`, which it awaits only once
 * the handler has returned. Both are unhandled rejections at that moment, and the runtime's `unhandledRejection`
 * hook posts the error and exits the process (code 128; with runtime client 4.x, which has no such hook, Node's
 * default does the same). Checked with aws-lambda-ric 3.3.0 built here and a fake runtime API: the instance
 * died mid-request, before the request's ledger record was written, whatever the handler did.
 *
 * The handler cannot reach those promises, so this filters the `unhandledRejection` events whose reason is the
 * very error object the response stream reported — nothing else: every other unhandled rejection still reaches
 * the runtime's hook and ends the instance, as it should. The request itself ends through the stream's error
 * (middy's pipeline rejects, the relay stops or drains, the record is written with status 499), and the runtime
 * reports the invocation as failed and asks for the next one.
 */

/** The part of the runtime's response stream this needs. */
export interface ErrorEmitter {
  on(event: 'error', listener: (err: unknown) => void): unknown;
}

/** Connection errors of response streams; weak, so an error the runtime let go is not kept. */
const dropped = new WeakSet<object>();
let onIgnored: ((err: unknown) => void) | undefined;
let installed = false;

/**
 * Watches one invocation's response stream: an error it emits is a dropped connection to the runtime API, and
 * the runtime's own rejections with that same error are ignored. `ignored` is told of each one (for a log
 * line); the last watcher's callback is the one used.
 */
export function watchResponseStream(stream: ErrorEmitter, ignored?: (err: unknown) => void): void {
  if (!installed) install();
  onIgnored = ignored;
  stream.on('error', (err) => {
    if (typeof err === 'object' && err !== null) dropped.add(err);
  });
}

/**
 * Node hands every unhandled rejection to `process.emit('unhandledRejection', reason, promise)` and treats it as
 * handled when that returns true; the filter answers true for a dropped connection's error before any listener
 * (the runtime's exit hook) sees it.
 */
function install(): void {
  installed = true;
  const emit = process.emit;
  const filtered = function (this: NodeJS.Process, event: string | symbol, ...args: unknown[]): boolean {
    const reason = args[0];
    if (
      event === 'unhandledRejection' &&
      typeof reason === 'object' &&
      reason !== null &&
      dropped.has(reason)
    ) {
      onIgnored?.(reason);
      return true;
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  };
  process.emit = filtered as typeof process.emit;
}
