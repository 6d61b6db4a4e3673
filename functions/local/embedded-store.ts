/**
 * The local DynamoDB: dynalite embedded in the process (in a worker thread), persisted under the data dir (in
 * memory when no dir is given, for tests), with the same tables the CDK stack creates.
 *
 * Only the gateway and the CLI of the same user may reach it: the store holds the client keys and the
 * providers' base URLs (rewrite one and the gateway sends that provider's key to the new host). So dynalite
 * listens on a unix socket, never on TCP: `<dataDir>/store.sock` (or, when that path is too long for a
 * socket, a socket in a private temp folder), inside folders only the owner may enter. Other processes of
 * that user (the CLI while the server runs) find it through `<dataDir>/store.json` (0600), since LevelDB
 * allows only one process to open the files.
 */

import { chmod, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { Agent, type ClientRequestArgs } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import * as z from 'zod';
import type { TableDefinition } from '../core/stores/tables.ts';
import { ensureTables, localTableName } from './local-tables.ts';
import { makePrivateDir, PRIVATE_FILE_MODE, privateUmask, socketPlace } from './private-dir.ts';

export { ensureTables, localTableName };

export interface StoreConnection {
  /** The unix socket the store listens on: the only way in (there is no TCP listener). */
  readonly socket: string;
  readonly client: DynamoDBClient;
  tableName(def: TableDefinition): string;
  close(): Promise<void>;
}

/** The data dir is another running Switchyard process's store: two cannot share one LevelDB. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The data dir ${dataDir} is in use by another running Switchyard gateway or command (pid ${pid}). ` +
        `Stop it (kill ${pid}), or set SWITCHYARD_DATA_DIR to another folder.`,
    );
    this.name = 'DataDirInUseError';
  }
}

/** An http.Agent whose every connection is the store's unix socket. */
class UnixSocketAgent extends Agent {
  constructor(private readonly socketPath: string) {
    // Like the SDK's default agent: kept-alive connections, at most 50 at once.
    super({ keepAlive: true, maxSockets: 50 });
  }
  override createConnection(_options: ClientRequestArgs): Socket {
    return createConnection({ path: this.socketPath });
  }
}

/** An SDK client on the store's socket (the host name in the URL is only what the requests are signed for). */
export function connectStore(socket: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: 'http://localhost',
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ httpAgent: new UnixSocketAgent(socket) }),
  });
}

interface DynaliteWorker {
  /** Rejects when the worker dies (e.g. the LevelDB files are locked by another process). */
  readonly failed: Promise<never>;
  /** The store is in use: from now on a failure is reported on stderr (before, the start fails with it). */
  serving(): void;
  stop(): Promise<void>;
}

/** Runs dynalite in a worker thread listening on `socket`; resolves once it listens. */
async function startDynaliteWorker(dataDir: string | undefined, socket: string): Promise<DynaliteWorker> {
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), {
    workerData: { socket, ...(dataDir === undefined ? {} : { path: join(dataDir, 'db') }) },
    // The worker is plain JavaScript: no TypeScript loader flags needed (or wanted) there.
    execArgv: [],
    // V8 lets an isolate's heap grow far before a full collection when the machine has memory; bounded, the
    // worker collects as it goes (the bench's memory run: see docs/benchmarks.md). Its data is on disk.
    resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 8 },
  });
  let serving = false;
  let stopping = false;
  const failed = new Promise<never>((_resolve, reject) => {
    worker.on('error', (err) => reject(new Error(`embedded store (dynalite worker) failed: ${String(err)}`)));
    worker.once('exit', (code) => reject(new Error(`embedded store (dynalite worker) exited (${code})`)));
  });
  // After start, a dying store must not take the gateway with it: requests keep being served (routes and
  // keys from their caches, ledger records to the spool), and the cause is on stderr.
  failed.catch((err: unknown) => {
    if (serving && !stopping) process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  });
  await Promise.race([
    failed,
    new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { type: string; message?: string }) => {
        if (m.type === 'listening') resolve();
        else if (m.type === 'error') reject(new Error(`embedded store (dynalite): ${m.message}`));
      });
    }),
  ]).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  return {
    failed,
    serving() {
      serving = true;
    },
    async stop() {
      stopping = true;
      await new Promise<void>((resolve) => {
        worker.on('message', (m: { type: string }) => {
          if (m.type === 'closed') resolve();
        });
        worker.once('exit', () => resolve());
        worker.postMessage('close');
      });
      await worker.terminate();
    },
  };
}

const MARKER = 'store.json';
const storeMarker = z.object({ socket: z.string().min(1), pid: z.number().int().positive() });
type StoreMarker = z.infer<typeof storeMarker>;

/** The marker of the data dir's store, or undefined when there is none (or it is from an older version). */
async function readMarker(dataDir: string): Promise<StoreMarker | undefined> {
  try {
    return storeMarker.parse(JSON.parse(await readFile(join(dataDir, MARKER), 'utf8')));
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether something accepts connections on the socket (a pid alone may have been reused since). */
function accepts(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path: socket });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1_000);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * The running process whose store lives in this data dir, if any (this process too: a second store on one
 * dir cannot open its LevelDB). A marker whose socket accepts nothing is stale, whoever has its pid now.
 */
async function holderOf(dataDir: string): Promise<StoreMarker | undefined> {
  const marker = await readMarker(dataDir);
  if (marker === undefined || !isAlive(marker.pid)) return undefined;
  return (await accepts(marker.socket)) ? marker : undefined;
}

/** What a process that died without closing its store left: its socket (and the temp folder around it). */
async function clearStale(dataDir: string): Promise<void> {
  const marker = await readMarker(dataDir);
  const own = join(resolve(dataDir), 'store.sock');
  await rm(own, { force: true });
  if (marker !== undefined && marker.socket !== own) {
    await rm(marker.socket, { force: true });
    await rmdir(dirname(marker.socket)).catch(() => undefined); // only when empty: never more than ours
  }
  await rm(join(dataDir, MARKER), { force: true });
}

/**
 * Starts dynalite (in a worker thread) on a private unix socket and creates the tables that are missing.
 * With a data dir: the dir is made private first, and a dir whose store another running process holds is
 * refused with a {@link DataDirInUseError}; this process creates its files with umask 077 until `close()`.
 */
export async function startEmbeddedStore(dataDir: string | undefined): Promise<StoreConnection> {
  const umask = dataDir === undefined ? undefined : privateUmask();
  const undo: (() => Promise<unknown>)[] = [async () => umask?.restore()];
  const unwind = async () => {
    for (const f of undo.splice(0).reverse()) await f().catch(() => undefined);
  };
  try {
    if (dataDir !== undefined) {
      await makePrivateDir(dataDir);
      const holder = await holderOf(dataDir);
      if (holder !== undefined) throw new DataDirInUseError(dataDir, holder.pid);
      await clearStale(dataDir);
    }
    const place = await socketPlace(dataDir);
    if (place.tempDir !== undefined) {
      const tempDir = place.tempDir;
      undo.push(() => rm(tempDir, { recursive: true, force: true }));
    } else undo.push(() => rm(place.path, { force: true }));
    const server = await startDynaliteWorker(dataDir, place.path).catch((err: unknown) => {
      throw storeFailure(err, dataDir);
    });
    undo.push(() => server.stop());
    await chmod(place.path, PRIVATE_FILE_MODE);
    const client = connectStore(place.path);
    undo.push(async () => client.destroy());
    await Promise.race([ensureTables(client), server.failed]).catch((err: unknown) => {
      throw storeFailure(err, dataDir);
    });
    server.serving();
    if (dataDir !== undefined) {
      const marker = join(dataDir, MARKER);
      const content: StoreMarker = { socket: place.path, pid: process.pid };
      await writeFile(marker, JSON.stringify(content), { mode: PRIVATE_FILE_MODE });
      undo.push(() => rm(marker, { force: true }));
    }
    let closing: Promise<void> | undefined;
    return {
      socket: place.path,
      client,
      tableName: localTableName,
      close() {
        closing ??= unwind();
        return closing;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

/** A store that failed to start, with the likely cause when it has files on disk. */
function storeFailure(err: unknown, dataDir: string | undefined): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (dataDir === undefined) return new Error(message, { cause: err });
  return new Error(
    `The embedded store in ${dataDir} could not start (${message}). If another program holds its files ` +
      '(a Switchyard process that did not leave), stop it, or set SWITCHYARD_DATA_DIR to another folder.',
    { cause: err },
  );
}

/** The store of a running local server when there is one, else a store of our own on the same data dir. */
export async function openStore(dataDir: string): Promise<StoreConnection> {
  const marker = await readMarker(dataDir);
  if (marker !== undefined && isAlive(marker.pid)) {
    const client = connectStore(marker.socket);
    try {
      await client.send(new ListTablesCommand({}));
      return {
        socket: marker.socket,
        client,
        tableName: localTableName,
        close: async () => client.destroy(),
      };
    } catch {
      client.destroy();
    }
  }
  return startEmbeddedStore(dataDir);
}
