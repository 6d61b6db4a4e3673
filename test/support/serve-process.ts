/**
 * `switchyard serve` as a user runs it: a real process (node + tsx as an --import loader, as `npm start` runs
 * it), its banner parsed for the origin, its stderr kept, its exit awaited. Every process started here is
 * SIGKILLed by `killAll()` (call it in afterEach), so a failing test leaves nothing running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI } from './cli-runner.ts';

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** e.g. http://127.0.0.1:PORT (the OpenAI base URL is this + /v1). */
  readonly origin: string;
  readonly port: number;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string | null>;
}

const started: ChildProcess[] = [];

/** Spawns `switchyard <args>` with the given environment added to this process's. */
export function spawnCli(args: readonly string[], env: Record<string, string>, cwd?: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd === undefined ? {} : { cwd }),
  });
  started.push(child);
  return child;
}

/** Collects a child's stderr and resolves when it exits. */
export function watch(child: ChildProcess): {
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | string | null>;
} {
  let err = '';
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (err += d));
  child.stdout?.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  return { stderr: () => err, stdout: () => out, exited };
}

/** Starts `serve` and resolves once its banner names the origin; rejects with its stderr if it exits first. */
export async function startServe(env: Record<string, string>, cwd?: string): Promise<ServeProcess> {
  return fromBanner(spawnCli(['serve'], { PORT: '0', ...env }, cwd));
}

/** Waits for the banner of a `serve` process started some other way (e.g. `npm start`). */
export function fromBanner(child: ChildProcess): Promise<ServeProcess> {
  if (!started.includes(child)) started.push(child);
  const w = watch(child);
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))\/v1/.exec(w.stderr());
      if (m?.[1] === undefined || m[2] === undefined) return;
      child.stderr?.off('data', onData);
      resolve({
        child,
        pid: child.pid ?? 0,
        origin: m[1],
        port: Number(m[2]),
        stderr: w.stderr,
        exited: w.exited,
      });
    };
    child.stderr?.on('data', onData);
    void w.exited.then((code) =>
      reject(new Error(`serve exited (${code}) before listening:\n${w.stderr()}`)),
    );
  });
}

/** SIGKILLs every process started here that is still running. */
export function killAll(): void {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Whether a process with this pid exists. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The TCP ports a process listens on, from /proc (Linux): its socket inodes matched against the kernel's
 * table of listening sockets. Undefined where /proc is not there.
 */
export async function listeningTcpPorts(pid: number): Promise<number[] | undefined> {
  const { readdir, readFile, readlink } = await import('node:fs/promises');
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const inodes = new Set<string>();
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1] !== undefined) inodes.add(m[1]);
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [local, , state] = cols.slice(1, 4);
      const inode = cols[9];
      if (state !== '0A' || local === undefined || inode === undefined || !inodes.has(inode)) continue;
      ports.push(Number.parseInt(local.split(':')[1] ?? '0', 16));
    }
  }
  return ports.sort((a, b) => a - b);
}
