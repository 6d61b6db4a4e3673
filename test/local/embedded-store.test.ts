/**
 * The embedded store is reachable only by the gateway and the CLI of the same user: dynalite listens on a unix
 * socket in a 0700 folder (no TCP listener), and the data dir is 0700 with 0600 files. Checked from outside,
 * as another user would try it: a process running as nobody (uid/gid 65534) connects and reads.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_TABLE, RESPONSES_TABLE } from '../../functions/core/stores/tables.ts';
import {
  connectStore,
  localTableName,
  openStore,
  startEmbeddedStore,
} from '../../functions/local/embedded-store.ts';
import { runCli } from '../support/cli-runner.ts';
import { killAll, listeningTcpPorts, startServe } from '../support/serve-process.ts';

const MASTER = 'sk-sy-test-master-key-0123456789';
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-store-'));
  // The folder around the data dir is open to everyone, as a home or project folder usually is: only the
  // data dir's own modes may keep others out.
  await chmod(dir, 0o755);
});
afterEach(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

/** Every file and folder under `root` (itself included), with its mode. */
async function tree(root: string): Promise<{ path: string; dir: boolean; mode: number; socket: boolean }[]> {
  const out = [];
  const s = await stat(root);
  out.push({ path: root, dir: true, mode: s.mode & 0o777, socket: false });
  for (const name of await readdir(root, { recursive: true })) {
    const path = join(root, name);
    const st = await stat(path);
    out.push({ path, dir: st.isDirectory(), mode: st.mode & 0o777, socket: st.isSocket() });
  }
  return out;
}

/** What another user (nobody) gets when it tries the store and the files: 'ok' or the error code. */
async function probeAsNobody(target: { socket?: string; endpoint?: string; files: string[]; dir: string }) {
  const script = `
    const fs = require('node:fs');
    const http = require('node:http');
    const t = JSON.parse(process.argv[1]);
    const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.code ?? String(e); } };
    const files = Object.fromEntries(t.files.map((f) => [f, code(() => fs.readFileSync(f))]));
    const write = code(() => fs.writeFileSync(t.dir + '/planted', 'x'));
    const url = t.endpoint === undefined ? undefined : new URL(t.endpoint);
    const req = http.request({
      ...(t.socket === undefined ? { host: url.hostname, port: url.port } : { socketPath: t.socket }),
      method: 'POST', path: '/',
      headers: { 'x-amz-target': 'DynamoDB_20120810.ListTables', 'content-type': 'application/x-amz-json-1.0',
        'x-amz-date': '20200101T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=a/20200101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0' },
    }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => console.log(JSON.stringify({ files, write, store: res.statusCode === 200 ? 'ok' : 'status ' + res.statusCode, body })));
    });
    req.on('error', (e) => console.log(JSON.stringify({ files, write, store: e.code })));
    req.end('{}');
  `;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify(target)], {
    uid: NOBODY,
    gid: NOBODY,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  await new Promise((r) => child.on('exit', r));
  if (out === '') throw new Error(`the probe printed nothing: ${err}`);
  return JSON.parse(out) as { files: Record<string, string>; write: string; store: string; body?: string };
}

interface Marker {
  socket?: string;
  endpoint?: string;
  pid: number;
}
const markerOf = async (dataDir: string) =>
  JSON.parse(await readFile(join(dataDir, 'store.json'), 'utf8')) as Marker;

describe('the embedded store of a running gateway', () => {
  it('listens on no TCP port: the gateway port is the only one', async () => {
    const gw = await startServe({ SWITCHYARD_DATA_DIR: join(dir, 'data'), SWITCHYARD_MASTER_KEY: MASTER });
    const ports = await listeningTcpPorts(gw.pid);
    if (ports === undefined) return; // no /proc (not Linux): the socket test below still runs
    expect(ports).toEqual([gw.port]);
    const marker = await markerOf(join(dir, 'data'));
    expect(marker.endpoint).toBeUndefined();
    expect(marker.socket).toBe(join(dir, 'data', 'store.sock'));
  });

  it.skipIf(!isRoot)(
    'keeps other users out: nobody gets EACCES on the socket and on every file, and cannot plant one (root only: the probe runs as uid 65534)',
    async () => {
      const data = join(dir, 'data');
      // A data dir left open by an older version: tightened at start.
      await mkdir(data, { mode: 0o755 });
      await chmod(data, 0o755);
      await writeFile(join(data, 'master-key'), `${MASTER}\n`, { mode: 0o644 });
      await chmod(join(data, 'master-key'), 0o644);
      const gw = await startServe({ SWITCHYARD_DATA_DIR: data });
      // One request, so the ledger has written files too.
      const res = await fetch(`${gw.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);

      const entries = await tree(data);
      const files = entries.filter((e) => !e.dir && !e.socket);
      expect(files.map((f) => f.path)).toContain(join(data, 'master-key'));
      expect(files.map((f) => f.path)).toContain(join(data, 'store.json'));
      expect(files.some((f) => f.path.startsWith(join(data, 'db')))).toBe(true);
      expect(entries.filter((e) => e.dir).map((e) => [e.path, e.mode.toString(8)])).toEqual(
        entries.filter((e) => e.dir).map((e) => [e.path, '700']),
      );
      expect(files.map((f) => [f.path, f.mode.toString(8)])).toEqual(files.map((f) => [f.path, '600']));

      const marker = await markerOf(data);
      const probe = await probeAsNobody({
        ...(marker.socket === undefined ? {} : { socket: marker.socket }),
        ...(marker.endpoint === undefined ? {} : { endpoint: marker.endpoint }),
        files: files.map((f) => f.path),
        dir: data,
      });
      expect(probe.store).toBe('EACCES');
      expect(probe.write).toBe('EACCES');
      expect(Object.values(probe.files)).toEqual(files.map(() => 'EACCES'));
    },
  );

  it('puts the socket in a private temp folder when the data dir path is too long for one, and the CLI finds it', async () => {
    const data = join(dir, 'a-data-dir-whose-path-is-long'.repeat(4), 'data');
    const gw = await startServe({ SWITCHYARD_DATA_DIR: data, SWITCHYARD_MASTER_KEY: MASTER });
    const marker = await markerOf(data);
    expect(marker.pid).toBe(gw.pid);
    const socket = marker.socket ?? '';
    expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(103);
    expect(socket.startsWith(data)).toBe(false);
    expect(((await stat(dirname(socket))).mode & 0o777).toString(8)).toBe('700');
    expect(((await stat(join(data, 'store.json'))).mode & 0o777).toString(8)).toBe('600');
    // The CLI reaches the running server's store (it could not open the LevelDB files the server holds).
    const list = await runCli(['routes', 'list'], { SWITCHYARD_DATA_DIR: data });
    expect(list.err).toBe('');
    expect(list.out).toMatch(/gpt-4o-mini\s+fallback\s+mock\//);
    gw.child.kill('SIGTERM');
    await gw.exited;
    // Its temp folder goes with it.
    await expect(stat(dirname(socket))).rejects.toThrow();
  });
});

describe('startEmbeddedStore in memory (tests)', () => {
  it('listens on a socket in a private temp folder, removed at close', async () => {
    const conn = await startEmbeddedStore(undefined);
    try {
      expect(((await stat(dirname(conn.socket))).mode & 0o777).toString(8)).toBe('700');
      expect((await stat(conn.socket)).isSocket()).toBe(true);
      const other = connectStore(conn.socket);
      const tables = await other.send(new ListTablesCommand({}));
      other.destroy();
      expect(tables.TableNames).toContain(localTableName(CONFIG_TABLE));
      // Stored Responses live in their own table, made from the same definition as the stack's.
      expect(tables.TableNames).toContain(localTableName(RESPONSES_TABLE));
    } finally {
      await conn.close();
    }
    await expect(stat(dirname(conn.socket))).rejects.toThrow();
  });
});

describe('startEmbeddedStore on a data dir', () => {
  it('refuses a second store on a dir whose store runs (this process included), and openStore joins the first', async () => {
    const data = join(dir, 'data');
    const first = await startEmbeddedStore(data);
    try {
      await expect(startEmbeddedStore(data)).rejects.toThrow(`pid ${process.pid}`);
      const joined = await openStore(data);
      expect(joined.socket).toBe(first.socket);
      await joined.close();
      // The refused start left the first store's socket and marker alone.
      expect((await first.client.send(new ListTablesCommand({}))).TableNames).toContain(
        localTableName(CONFIG_TABLE),
      );
      expect((await markerOf(data)).socket).toBe(first.socket);
    } finally {
      await first.close();
    }
  });

  it('tightens only what Switchyard keeps there: other files in a shared folder keep their modes', async () => {
    const data = join(dir, 'project');
    await mkdir(data);
    await writeFile(join(data, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(data, 'run.sh'), 0o755);
    await writeFile(join(data, 'master-key'), `${MASTER}\n`);
    await chmod(join(data, 'master-key'), 0o644);
    const conn = await startEmbeddedStore(data);
    await conn.close();
    const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);
    expect(await mode(join(data, 'run.sh'))).toBe('755');
    expect(await mode(join(data, 'master-key'))).toBe('600');
    expect(await mode(data)).toBe('700');
  });

  it('starts over the marker and socket file a process that died left behind', async () => {
    const data = join(dir, 'data');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'store.sock'), '');
    // Its pid may belong to a live process by now (here: this one); only a socket that answers holds the dir.
    await writeFile(
      join(data, 'store.json'),
      JSON.stringify({ socket: join(data, 'store.sock'), pid: process.pid }),
    );
    const conn = await startEmbeddedStore(data);
    try {
      expect((await stat(conn.socket)).isSocket()).toBe(true);
      expect((await markerOf(data)).pid).toBe(process.pid);
    } finally {
      await conn.close();
    }
  });
});
