/** Why an upstream call was aborted: the abort reason travels through the signal. */

export type TimeoutKind = 'first_byte' | 'idle' | 'total';

export class TimeoutReason extends Error {
  constructor(
    readonly which: TimeoutKind,
    readonly ms: number,
  ) {
    const what = { first_byte: 'first byte', idle: 'next stream chunk', total: 'request deadline' }[which];
    super(
      which === 'total' ? `request deadline of ${ms} ms passed` : `no ${what} from upstream within ${ms} ms`,
    );
    this.name = 'TimeoutReason';
  }
}

export class ClientGoneReason extends Error {
  constructor() {
    super('client went away');
    this.name = 'ClientGoneReason';
  }
}

/** The idle timer of a stream: re-armed on every chunk, it aborts the call when the upstream goes quiet. */
export class IdleTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    private readonly controller: AbortController,
    private readonly ms: number,
  ) {}
  arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(new TimeoutReason('idle', this.ms)), this.ms);
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}
