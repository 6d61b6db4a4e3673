/**
 * `switchyard serve` (what `npm start` runs) as a user meets it: what the banner prints, which config a
 * restart keeps, how fast a synced route is live, and start-up errors that name the cause and the fix.
 * Real processes, a temp data dir, the embedded store on disk.
 */
import { exec } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maskedForm } from '../../functions/core/secrets.ts';
import { runCli } from '../support/cli-runner.ts';
import { killAll, type ServeProcess, spawnCli, startServe, watch } from '../support/serve-process.ts';

const MASTER = 'sk-sy-test-master-key-0123456789';
const CONFIG = `providers:
  mock: { type: mock }
routes:
  alpha: { targets: [{ provider: mock, model: a }] }
  beta: { strategy: weighted, targets: [{ provider: mock, model: b, weight: 2 }] }
`;
let dir: string;
let data: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-serve-'));
  data = join(dir, 'data');
});
afterEach(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

async function modelIds(origin: string): Promise<string[]> {
  const res = await fetch(`${origin}/v1/models`, { headers: { authorization: `Bearer ${MASTER}` } });
  const body = (await res.json()) as { data: { id: string }[] };
  return body.data.map((m) => m.id).sort();
}

/** The banner's "Try it" command, run by a shell as a user pasting it would. */
async function runTryIt(gw: ServeProcess, env: Record<string, string> = {}): Promise<string> {
  const lines = gw.stderr().split('\n');
  const at = lines.findIndex((l) => l.startsWith('Try it'));
  const command = lines
    .slice(at + 1)
    .join('\n')
    .split('\n\n')[0];
  expect(command).toMatch(/^\s+curl /);
  const { stdout } = await promisify(exec)(command ?? '', { env: { PATH: process.env.PATH, ...env } });
  return stdout;
}

const answerOf = (stdout: string): string =>
  (JSON.parse(stdout) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? '';

describe('the master key in the banner', () => {
  it('is printed whole only when it is generated; from the data dir it is masked and the curl reads the file', async () => {
    const first = await startServe({ SWITCHYARD_DATA_DIR: data });
    const key = (await readFile(join(data, 'master-key'), 'utf8')).trim();
    expect(first.stderr()).toContain(key);
    first.child.kill('SIGTERM');
    await first.exited;

    const again = await startServe({ SWITCHYARD_DATA_DIR: data });
    expect(again.stderr()).not.toContain(key);
    expect(again.stderr()).toContain(maskedForm(key));
    expect(again.stderr()).toContain(`cat ${join(data, 'master-key')}`);
    expect(answerOf(await runTryIt(again))).toContain('Hello');
  });

  it('is masked when it comes from SWITCHYARD_MASTER_KEY, and the curl reads the variable', async () => {
    const gw = await startServe({ SWITCHYARD_DATA_DIR: data, SWITCHYARD_MASTER_KEY: MASTER });
    expect(gw.stderr()).not.toContain(MASTER);
    expect(gw.stderr()).toContain(maskedForm(MASTER));
    expect(gw.stderr()).toContain('SWITCHYARD_MASTER_KEY');
    expect(answerOf(await runTryIt(gw, { SWITCHYARD_MASTER_KEY: MASTER }))).toContain('Hello');
    // The console's address, printed beside the key, serves the console.
    const url = /console: +(\S+)/.exec(gw.stderr())?.[1];
    expect(url).toBe(`${gw.origin}/console`);
    const page = await fetch(url as string);
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    await page.text();
  });
});

describe('the config a start uses', () => {
  it('keeps the routes a user synced when there is no config file (the example seeds only an empty store)', async () => {
    await writeFile(join(dir, 'sy.yaml'), CONFIG);
    const sync = await runCli(['routes', 'sync', join(dir, 'sy.yaml')], { SWITCHYARD_DATA_DIR: data });
    expect(sync.code).toBe(0);
    const gw = await startServe({ SWITCHYARD_DATA_DIR: data, SWITCHYARD_MASTER_KEY: MASTER });
    expect(await modelIds(gw.origin)).toEqual(['alpha', 'beta']);
    expect(gw.stderr()).toMatch(/config: +the stored config \(2 routes;/);
  });

  it('seeds the built-in example into an empty store', async () => {
    const gw = await startServe({ SWITCHYARD_DATA_DIR: data, SWITCHYARD_MASTER_KEY: MASTER });
    expect(await modelIds(gw.origin)).toContain('gpt-4o-mini');
    expect(gw.stderr()).toMatch(/config: +built-in example/);
  });

  it('says on stderr that a config file replaces the stored config', async () => {
    await writeFile(join(dir, 'sy.yaml'), CONFIG);
    const first = await startServe({ SWITCHYARD_DATA_DIR: data, SWITCHYARD_MASTER_KEY: MASTER });
    first.child.kill('SIGTERM');
    await first.exited;
    const gw = await startServe({
      SWITCHYARD_DATA_DIR: data,
      SWITCHYARD_MASTER_KEY: MASTER,
      SWITCHYARD_CONFIG: join(dir, 'sy.yaml'),
    });
    expect(gw.stderr()).toContain(`${join(dir, 'sy.yaml')} replaces the stored config`);
    expect(gw.stderr()).toMatch(/3 stored entries not in the file were removed/);
    expect(await modelIds(gw.origin)).toEqual(['alpha', 'beta']);
  });
});

describe('a route change', () => {
  it('reaches the first request made 5 s after `routes sync` returned', async () => {
    const gw = await startServe({ SWITCHYARD_DATA_DIR: data, SWITCHYARD_MASTER_KEY: MASTER });
    expect(await modelIds(gw.origin)).toContain('gpt-4o-mini'); // the cache now holds the example
    await writeFile(join(dir, 'sy.yaml'), CONFIG);
    const sync = await runCli(['routes', 'sync', join(dir, 'sy.yaml')], { SWITCHYARD_DATA_DIR: data });
    expect(sync.code).toBe(0);
    await new Promise((r) => setTimeout(r, 5_100));
    expect(await modelIds(gw.origin)).toEqual(['alpha', 'beta']);
  }, 40_000);
});

describe('start-up errors name the cause and the fix', () => {
  it('a port in use: says which, and to set PORT', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const child = spawnCli(['serve'], {
        SWITCHYARD_DATA_DIR: data,
        SWITCHYARD_MASTER_KEY: MASTER,
        PORT: String(port),
      });
      const w = watch(child);
      expect(await w.exited).toBe(1);
      expect(w.stderr()).toContain(`port ${port}`);
      expect(w.stderr()).toContain('set PORT');
      expect(w.stderr()).not.toMatch(/EADDRINUSE|\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('a data dir another running gateway holds: names its pid, says stop it or set SWITCHYARD_DATA_DIR', async () => {
    const gw = await startServe({ SWITCHYARD_DATA_DIR: data, SWITCHYARD_MASTER_KEY: MASTER });
    const w = watch(
      spawnCli(['serve'], { SWITCHYARD_DATA_DIR: data, SWITCHYARD_MASTER_KEY: MASTER, PORT: '0' }),
    );
    expect(await w.exited).toBe(1);
    expect(w.stderr()).toContain(`pid ${gw.pid}`);
    expect(w.stderr()).toContain('SWITCHYARD_DATA_DIR');
    // The first one is untouched.
    expect(await modelIds(gw.origin)).toContain('gpt-4o-mini');
  });

  it('SWITCHYARD_CONFIG naming a missing file: names the variable and the path, no raw ENOENT', async () => {
    const nope = join(dir, 'nope.yaml');
    const w = watch(
      spawnCli(['serve'], {
        SWITCHYARD_DATA_DIR: data,
        SWITCHYARD_MASTER_KEY: MASTER,
        SWITCHYARD_CONFIG: nope,
      }),
    );
    expect(await w.exited).toBe(1);
    expect(w.stderr()).toContain(`SWITCHYARD_CONFIG points to ${nope}, which does not exist`);
    expect(w.stderr()).not.toContain('ENOENT');
  });

  it('`routes sync` of a missing file: names the file, no raw ENOENT', async () => {
    const r = await runCli(['routes', 'sync', 'nope.yaml'], { SWITCHYARD_DATA_DIR: data });
    expect(r.code).toBe(1);
    expect(r.err).toContain('nope.yaml does not exist');
    expect(r.err).not.toContain('ENOENT');
  });
});
