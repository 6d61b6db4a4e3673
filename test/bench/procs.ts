/** Forks the bench's child processes (tsx entry files) and talks to them over IPC; kills them on any exit. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type FromChild, isFromChild, type ToChild } from './ipc.ts';

type Reply<T extends FromChild['type']> = Extract<FromChild, { type: T }>;

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly origin: string;
  /** OpenAI base URL (origin + /v1). */
  readonly url: string;
  /** Sends `msg` and waits for the next message of type `type`. */
  ask<T extends FromChild['type']>(msg: ToChild, type: T, timeoutMs?: number): Promise<Reply<T>>;
  /** Asks the child to exit cleanly; kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ProcOptions {
  readonly args?: readonly string[];
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** File descriptor for the child's stdout; ignored when undefined. */
  readonly stdoutFd?: number;
  readonly startTimeoutMs?: number;
}

const live = new Set<ChildProcess>();

/** Last resort: whatever happens to the parent, no child outlives it. */
function killAll(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export async function startProc(name: string, file: string, opts: ProcOptions = {}): Promise<Proc> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  const child = fork(path, [...(opts.args ?? [])], {
    execArgv: ['--import', 'tsx', ...(opts.nodeFlags ?? [])],
    stdio: ['ignore', opts.stdoutFd ?? 'ignore', 'inherit', 'ipc'],
  });
  live.add(child);
  let exited = false;
  const exitWaiters = new Set<() => void>();
  const waiters = new Set<{ type: string; resolve: (m: FromChild) => void; reject: (e: Error) => void }>();
  child.on('exit', (code, signal) => {
    exited = true;
    live.delete(child);
    for (const w of waiters) w.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
    waiters.clear();
    for (const done of exitWaiters) done();
  });
  child.on('message', (m: unknown) => {
    if (!isFromChild(m)) return;
    if (m.type === 'error') {
      for (const w of waiters) w.reject(new Error(`${name}: ${m.message}`));
      waiters.clear();
      return;
    }
    for (const w of waiters) {
      if (w.type === m.type) {
        waiters.delete(w);
        w.resolve(m);
        return;
      }
    }
  });

  const wait = <T extends FromChild['type']>(type: T, timeoutMs: number): Promise<Reply<T>> =>
    new Promise<Reply<T>>((resolve, reject) => {
      if (exited) {
        reject(new Error(`${name} is not running`));
        return;
      }
      const w = {
        type,
        resolve: (m: FromChild) => {
          clearTimeout(timer);
          resolve(m as Reply<T>);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`${name}: no '${type}' reply within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(w);
    });

  const stop = async (graceMs = 5_000): Promise<void> => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => exitWaiters.add(resolve));
    if (child.connected) child.send({ type: 'exit' } satisfies ToChild);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  };

  try {
    const ready = await wait('ready', opts.startTimeoutMs ?? 60_000);
    return {
      name,
      pid: child.pid ?? -1,
      origin: ready.origin,
      url: ready.url,
      ask: (msg, type, timeoutMs = 10_000) => {
        const p = wait(type, timeoutMs);
        child.send(msg);
        return p;
      },
      stop,
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
