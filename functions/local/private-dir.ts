/**
 * The data dir belongs to the user who runs the gateway: it holds the master key, the client keys' hashes,
 * the provider config (base URLs the provider keys are sent to) and the ledger. Folders are 0700 and files
 * 0600 — tightened at every start, since an older version or a copy may have left them open — and the
 * process that owns the store creates its files with umask 077, so the LevelDB files it adds later are
 * private too.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * The longest unix socket path that works everywhere we run: `sun_path` holds 108 bytes on Linux and 104 on
 * macOS, the terminating NUL included.
 */
export const MAX_SOCKET_PATH = 103;

/**
 * What Switchyard keeps in a data dir (the LevelDB folder, the master key, the store's marker and socket, the
 * usage spool). Only these are tightened: a data dir pointed at a folder with other things in it (`.`) must
 * not have a project's scripts lose their modes.
 */
export const DATA_DIR_ENTRIES: readonly string[] = [
  'db',
  'master-key',
  'store.json',
  'store.sock',
  'usage-spool.jsonl',
];

/** Creates `dir` (and its parents) if needed, then makes it and Switchyard's entries in it private. */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
  for (const name of DATA_DIR_ENTRIES) {
    const path = join(dir, name);
    const entry = await lstat(path).catch(() => undefined);
    if (entry?.isDirectory() === true) await tighten(path);
    else if (entry?.isFile() === true || entry?.isSocket() === true) await chmod(path, PRIVATE_FILE_MODE);
  }
}

/** 0700 for `dir` and its folders, 0600 for its files; symbolic links are left alone (not followed). */
async function tighten(dir: string): Promise<void> {
  await chmod(dir, PRIVATE_DIR_MODE);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await tighten(path);
    else if (entry.isFile()) await chmod(path, PRIVATE_FILE_MODE);
    else if (entry.isSocket()) await chmod(path, PRIVATE_FILE_MODE).catch(() => undefined);
  }
}

/**
 * Makes this process create private files (umask 077) until `restore()` is called. Only the main thread may
 * change the umask; in a worker thread this does nothing and the 0700 folder alone keeps others out.
 */
export function privateUmask(): { restore(): void } {
  if (!isMainThread) return { restore: () => undefined };
  const before = process.umask(0o077);
  return { restore: () => void process.umask(before) };
}

/** Where the store's socket goes, and whether that folder is a temp one of ours (removed at close). */
export interface SocketPlace {
  readonly path: string;
  /** A private temp folder made for the socket: removed with it. Undefined: the socket is in the data dir. */
  readonly tempDir: string | undefined;
}

/**
 * `<dataDir>/store.sock` when that path fits in a socket address, else a socket in a new private temp
 * folder (mkdtemp makes it 0700). In memory (no data dir), always a temp folder.
 */
export async function socketPlace(dataDir: string | undefined): Promise<SocketPlace> {
  if (dataDir !== undefined) {
    const inDataDir = resolve(dataDir, 'store.sock');
    if (Buffer.byteLength(inDataDir) <= MAX_SOCKET_PATH) return { path: inDataDir, tempDir: undefined };
  }
  for (const base of [tmpdir(), '/tmp']) {
    const probe = join(base, 'switchyard-XXXXXX', 'store.sock');
    if (Buffer.byteLength(probe) > MAX_SOCKET_PATH) continue;
    const tempDir = await mkdtemp(join(base, 'switchyard-'));
    await chmod(tempDir, PRIVATE_DIR_MODE);
    return { path: join(tempDir, 'store.sock'), tempDir };
  }
  throw new Error(
    `No folder short enough for the store's socket (at most ${MAX_SOCKET_PATH} bytes): set TMPDIR to a short path.`,
  );
}
