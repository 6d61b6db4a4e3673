/**
 * A stand-in for the AWS Lambda Node.js runtime, which cannot run here: the `awslambda` global
 * (`streamifyResponse`, `HttpResponseStream.from`) and one execution environment that invokes a streamified
 * handler the way the runtime interface client does.
 *
 * Faithful where a handler can tell the difference:
 * - `streamifyResponse(fn)` marks and returns `fn` itself (Symbol.for('aws.lambda.runtime.handler.streaming')).
 * - The response stream is a Writable with `setContentType`; `HttpResponseStream.from(stream, prelude)` sets
 *   the HTTP-integration content type and makes the first `write()` (even `write('')`) send
 *   `JSON.stringify(prelude)` then 8 NUL bytes before the chunk. After the first write the content type (so
 *   status and headers) can no longer change: `setContentType`/`from` throw, as in the runtime.
 * - Non-binary chunks are JSON.stringify'd, as the runtime does.
 * - One invocation at a time per environment (later ones queue), a deadline behind
 *   `getRemainingTimeInMillis`, `_X_AMZN_TRACE_ID` set per invocation.
 * - A dropped connection to the runtime API (`dropConnection`, or `dropAtWrite(n)` for a write that fails),
 *   as aws-lambda-ric 3.3.0 handles it (src/ResponseStream.js, checked against the built client and a fake
 *   runtime API): its `error` listener rejects the client's two promises about the response request with the
 *   request's error (`socket hang up`, ECONNRESET) — `headersDone`, which nothing awaits, and `responseDone`,
 *   awaited only after the handler returns — then destroys the stream with that error. Later writes fail.
 * - The runtime's process hooks: an unhandled rejection or an uncaught exception ends the environment (the
 *   client posts the error and exits with 128 / 129); later invocations never run.
 * The bytes the function "sends to the Lambda service" come out of `Invocation.wire`, with backpressure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import type { Context } from 'aws-lambda';
import { DEFAULT_FUNCTION, type FunctionConfig } from './function-env.ts';

export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
export const DEFAULT_STREAM_CONTENT_TYPE = 'application/octet-stream';
export const PRELUDE_DELIMITER_LENGTH = 8;
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';

type WriteCallback = (error: Error | null | undefined) => void;

/** What Node's http client reports when the runtime API closes the response request's connection. */
export function connectionDropError(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/** A promise and its settle functions. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve = (): void => {};
  let reject = (_: Error): void => {};
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
type PreludeWriter = (write: (chunk: string | Uint8Array) => void) => void;

/** The `responseStream` a streaming handler gets. */
export class LambdaResponseStream extends Writable {
  /** What the function sends to the Lambda service: prelude + NULs (after `from`), then the body bytes. */
  readonly wire: Readable;
  #contentType = DEFAULT_STREAM_CONTENT_TYPE;
  #firstWriteHappened = false;
  #onBeforeFirstWrite: PreludeWriter | undefined;
  #resume: (() => void) | undefined;
  #writes = 0;
  #dropAtWrite: number | undefined;
  /** The runtime client's `headersDone` (resolved by the runtime API's answer): nothing ever awaits it. */
  readonly #headersDone = deferred();
  /** The runtime client's `responseDone`: the runtime awaits it once the handler has returned. */
  readonly #responseDone = deferred();
  /** Set when the connection to the runtime API dropped. */
  connectionError: Error | undefined;

  constructor(highWaterMark: number | undefined) {
    super(highWaterMark === undefined ? {} : { highWaterMark });
    this.wire = new Readable({
      read: () => {
        const resume = this.#resume;
        this.#resume = undefined;
        resume?.();
      },
    });
  }

  get contentType(): string {
    return this.#contentType;
  }

  get firstWriteHappened(): boolean {
    return this.#firstWriteHappened;
  }

  setContentType(contentType: string): void {
    if (this.#firstWriteHappened) throw new Error('Cannot set content-type, too late.');
    this.#contentType = contentType;
  }

  /** Used by `HttpResponseStream.from` only (the runtime's `_onBeforeFirstWrite`). */
  setBeforeFirstWrite(writer: PreludeWriter): void {
    if (this.#firstWriteHappened) throw new Error('Cannot set the HTTP prelude after the first write.');
    this.#onBeforeFirstWrite = writer;
  }

  override write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    const data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    if (!this.#firstWriteHappened) {
      this.#firstWriteHappened = true;
      this.#onBeforeFirstWrite?.((c) => {
        super.write(c);
      });
    }
    if (typeof encoding === 'function') return super.write(data, encoding);
    return encoding === undefined ? super.write(data, cb) : super.write(data, encoding, cb);
  }

  /** `end(chunk)` writes through `write`, so a first chunk given to `end` still follows the prelude. */
  override end(chunk?: unknown, encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    if (typeof chunk === 'function') return super.end(chunk as () => void);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (chunk !== undefined && chunk !== null) {
      if (typeof encoding === 'string') this.write(chunk, encoding);
      else this.write(chunk);
    }
    return super.end(done);
  }

  /** The runtime API drops the connection now: the runtime client's error path (see the file's comment). */
  dropConnection(): void {
    if (this.connectionError !== undefined || this.destroyed) return;
    const err = connectionDropError();
    this.connectionError = err;
    this.#headersDone.reject(err);
    this.#responseDone.reject(err);
    this.destroy(err);
  }

  /** Drops the connection when the n-th non-empty chunk (1: the HTTP prelude) is written. */
  dropAtWrite(n: number): void {
    this.#dropAtWrite = n;
  }

  /** What the runtime awaits after the handler returned: the runtime API's answer, or the connection's error. */
  get responseDone(): Promise<void> {
    return this.#responseDone.promise;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    if (chunk.length > 0 && ++this.#writes === this.#dropAtWrite) {
      this.dropConnection();
      callback(this.connectionError);
      return;
    }
    if (chunk.length === 0 || this.wire.push(chunk)) callback(null);
    else this.#resume = () => callback(null);
  }

  override _final(callback: WriteCallback): void {
    this.wire.push(null);
    this.#headersDone.resolve();
    this.#responseDone.resolve();
    callback(null);
  }

  override _destroy(error: Error | null, callback: WriteCallback): void {
    if (!this.wire.destroyed) this.wire.destroy(error ?? undefined);
    callback(error);
  }
}

/** The runtime's `awslambda.HttpResponseStream` (a class there with only this static method). */
export const HttpResponseStream = {
  from(underlyingStream: unknown, prelude: Record<string, unknown>): LambdaResponseStream {
    if (!(underlyingStream instanceof LambdaResponseStream)) {
      throw new TypeError('HttpResponseStream.from needs the responseStream the runtime passed in');
    }
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    // JSON.stringify escapes NUL, so the delimiter cannot occur inside the prelude.
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream.setBeforeFirstWrite((write) => {
      write(metadataPrelude);
      write(new Uint8Array(PRELUDE_DELIMITER_LENGTH));
    });
    return underlyingStream;
  },
};

/** The runtime's `awslambda.streamifyResponse`: marks the handler and returns it. */
export function streamifyResponse<F extends object>(handler: F, options?: { highWaterMark?: number }): F {
  Object.defineProperty(handler, HANDLER_STREAMING, { value: STREAM_RESPONSE, configurable: true });
  if (typeof options?.highWaterMark === 'number') {
    Object.defineProperty(handler, HANDLER_HIGHWATERMARK, {
      value: options.highWaterMark,
      configurable: true,
    });
  }
  return handler;
}

/** Defines `globalThis.awslambda` (as the runtime does before loading the handler); returns the undo. */
export function installAwsLambdaGlobals(): () => void {
  Object.defineProperty(globalThis, 'awslambda', {
    value: { streamifyResponse, HttpResponseStream },
    configurable: true,
    writable: true,
  });
  return () => {
    Reflect.deleteProperty(globalThis, 'awslambda');
  };
}

type StreamifiedHandler = (event: unknown, responseStream: LambdaResponseStream, context: Context) => unknown;

function streamingMark(handler: unknown): { fn: StreamifiedHandler; highWaterMark: number | undefined } {
  if (typeof handler !== 'function') throw new TypeError('the module exports no handler function');
  if (Reflect.get(handler, HANDLER_STREAMING) !== STREAM_RESPONSE) {
    throw new TypeError('handler is not wrapped in awslambda.streamifyResponse: Lambda would buffer it');
  }
  const hwm: unknown = Reflect.get(handler, HANDLER_HIGHWATERMARK);
  return {
    fn: (event, stream, context) => Reflect.apply(handler, undefined, [event, stream, context]),
    highWaterMark: typeof hwm === 'number' ? hwm : undefined,
  };
}

export type InvocationOutcome =
  | { readonly kind: 'success'; readonly endedByHandler: boolean; readonly durationMs: number }
  | { readonly kind: 'error'; readonly error: unknown; readonly durationMs: number }
  | { readonly kind: 'timeout'; readonly durationMs: number }
  | { readonly kind: 'aborted-before-start' }
  /** The environment's runtime had exited (a fatal error of an earlier invocation): nothing ran. */
  | { readonly kind: 'runtime-exited' };

export interface Invocation {
  readonly requestId: string;
  readonly responseStream: LambdaResponseStream;
  /** Bytes to the Lambda service; errors when the invocation fails or times out. */
  readonly wire: Readable;
  /** What the Lambda service does when the caller goes away: destroys the response stream. */
  abort(): void;
  /** The runtime API drops the response connection mid-answer (see `LambdaResponseStream.dropConnection`). */
  dropConnection(): void;
  /** Settles when the handler's promise does (never rejects). */
  readonly done: Promise<InvocationOutcome>;
}

const traceId = (): string =>
  `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};` +
  `Parent=${randomBytes(8).toString('hex')};Sampled=0;Lineage=1:${randomBytes(4).toString('hex')}:0`;

/** What the runtime's process hooks caught; the first one ends the environment. */
export interface FatalError {
  readonly kind: 'unhandledRejection' | 'uncaughtException';
  readonly error: unknown;
  /** The exit code the runtime client exits with (aws-lambda-ric: 128 / 129). */
  readonly exitCode: 128 | 129;
}

/** One Lambda execution environment: the loaded handler, invoked one event at a time. */
export class ExecutionEnvironment {
  readonly #handler: StreamifiedHandler;
  readonly #highWaterMark: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly invocations: Invocation[] = [];
  /** Every error the runtime's process hooks caught; the environment is dead after the first. */
  readonly fatalErrors: FatalError[] = [];
  #dropNextAtWrite: number | undefined;
  readonly #onRejection = (error: unknown) => this.#fatal('unhandledRejection', error, 128);
  readonly #onException = (error: unknown) => this.#fatal('uncaughtException', error, 129);

  constructor(
    handler: unknown,
    readonly config: FunctionConfig = DEFAULT_FUNCTION,
  ) {
    const { fn, highWaterMark } = streamingMark(handler);
    this.#handler = fn;
    this.#highWaterMark = highWaterMark;
    // The runtime client hooks both before it loads the handler, for the life of the process.
    process.on('unhandledRejection', this.#onRejection);
    process.on('uncaughtException', this.#onException);
  }

  /** True once a fatal error ended the environment (the runtime process would have exited). */
  get exited(): boolean {
    return this.fatalErrors.length > 0;
  }

  /** Removes the process hooks (the environment is shut down). */
  dispose(): void {
    process.off('unhandledRejection', this.#onRejection);
    process.off('uncaughtException', this.#onException);
  }

  /** The next invocation's connection to the runtime API drops at its n-th write (1: the HTTP prelude). */
  dropNextAtWrite(n: number): void {
    this.#dropNextAtWrite = n;
  }

  #fatal(kind: FatalError['kind'], error: unknown, exitCode: FatalError['exitCode']): void {
    this.fatalErrors.push({ kind, error, exitCode });
  }

  invoke(event: unknown): Invocation {
    const requestId = randomUUID();
    const stream = new LambdaResponseStream(this.#highWaterMark);
    if (this.#dropNextAtWrite !== undefined) stream.dropAtWrite(this.#dropNextAtWrite);
    this.#dropNextAtWrite = undefined;
    // The runtime listens for errors on its own request; a late write to a destroyed stream is not a crash.
    stream.on('error', () => {});
    let aborted = false;
    const done = this.#queue.then((): InvocationOutcome | Promise<InvocationOutcome> => {
      if (this.exited) {
        stream.destroy(new Error('Runtime exited'));
        return { kind: 'runtime-exited' };
      }
      return aborted ? { kind: 'aborted-before-start' } : this.#run(event, stream, requestId);
    });
    this.#queue = done;
    const invocation: Invocation = {
      requestId,
      responseStream: stream,
      wire: stream.wire,
      abort: () => {
        aborted = true;
        if (!stream.destroyed) stream.destroy();
      },
      dropConnection: () => stream.dropConnection(),
      done,
    };
    this.invocations.push(invocation);
    return invocation;
  }

  async #run(event: unknown, stream: LambdaResponseStream, requestId: string): Promise<InvocationOutcome> {
    const cfg = this.config;
    const start = performance.now();
    const deadline = Date.now() + cfg.timeoutMs;
    process.env._X_AMZN_TRACE_ID = traceId();
    const unsupported = (): never => {
      throw new Error('context.done/succeed/fail are not available to streaming handlers');
    };
    const context: Context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: cfg.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${cfg.region}:${cfg.accountId}:function:${cfg.functionName}`,
      memoryLimitInMB: String(cfg.memoryMb),
      awsRequestId: requestId,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${cfg.functionName}`,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: unsupported,
      fail: unsupported,
      succeed: unsupported,
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, cfg.timeoutMs, 'timeout');
    });
    const durationMs = () => performance.now() - start;
    try {
      const ran = await Promise.race([
        Promise.resolve()
          .then(() => this.#handler(event, stream, context))
          .then(() => 'returned' as const),
        timedOut,
      ]);
      if (ran === 'timeout') {
        stream.destroy(new Error(`Task timed out after ${(cfg.timeoutMs / 1000).toFixed(2)} seconds`));
        return { kind: 'timeout', durationMs: durationMs() };
      }
      if (stream.connectionError !== undefined) {
        // The runtime awaits its `responseDone` once the handler returned: it rejects, the invocation failed.
        await stream.responseDone.catch(() => {});
        return { kind: 'error', error: stream.connectionError, durationMs: durationMs() };
      }
      const endedByHandler = stream.writableEnded;
      if (!endedByHandler && !stream.destroyed) stream.end();
      return { kind: 'success', endedByHandler, durationMs: durationMs() };
    } catch (error) {
      // Before the first byte the service answers an error; after it the response is cut short (a body that
      // was complete already stays complete).
      if (!stream.destroyed && !stream.writableFinished)
        stream.destroy(error instanceof Error ? error : new Error(String(error)));
      return { kind: 'error', error, durationMs: durationMs() };
    } finally {
      clearTimeout(timer);
      delete process.env._X_AMZN_TRACE_ID;
    }
  }
}
