/**
 * The `switchyard` CLI as a user runs it: real processes, a temp data dir, the embedded store on disk.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '../../functions/local/cli.ts');
const MASTER = 'sk-sy-test-master-key-0123456789';
let dir: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: {
      ...process.env,
      SWITCHYARD_DATA_DIR: join(dir, 'data'),
      SWITCHYARD_MASTER_KEY: MASTER,
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const child = start(args, env);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d));
  child.stderr?.on('data', (d: Buffer) => (err += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

/** Starts `serve` and resolves with its origin once the banner is printed. */
function serve(
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; origin: string; stdout: () => string }> {
  const child = start(['serve'], env);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d));
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(err);
      if (m?.[1] !== undefined) resolve({ child, origin: m[1], stdout: () => out });
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

const CONFIG = `providers:
  mock: { type: mock }
routes:
  alpha: { targets: [{ provider: mock, model: a }] }
  beta: { strategy: weighted, targets: [{ provider: mock, model: b, weight: 2 }] }
`;

describe('switchyard routes', () => {
  it('syncs a file into the store and lists it, without a running server', async () => {
    await writeFile(join(dir, 'sy.yaml'), CONFIG);
    const sync = await run(['routes', 'sync', join(dir, 'sy.yaml')]);
    expect(sync.code).toBe(0);
    expect(sync.out).toContain('3 entries written');
    const list = await run(['routes', 'list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/alpha\s+fallback\s+mock\/a/);
    expect(list.out).toMatch(/beta\s+weighted\s+mock\/b \(w=2\)/);
  });

  it('rejects a bad file with the path of the bad field and changes nothing', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'providers: {}\nroutes:\n  x: { targets: [{ provider: nope, model: m }] }\n',
    );
    const r = await run(['routes', 'sync', join(dir, 'bad.yaml')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('routes.x.targets.0.provider: unknown provider "nope"');
  });

  it('changes the routes of a running server without a restart', async () => {
    const gw = await serve();
    await writeFile(join(dir, 'sy.yaml'), CONFIG);
    const sync = await run(['routes', 'sync', join(dir, 'sy.yaml')]);
    expect(sync.code).toBe(0);
    const models = async () =>
      (await (
        await fetch(`${gw.origin}/v1/models`, { headers: { authorization: `Bearer ${MASTER}` } })
      ).json()) as {
        data: { id: string }[];
      };
    // The route cache refreshes in the background within its TTL (5 s).
    let ids: string[] = [];
    for (let i = 0; i < 40 && !ids.includes('alpha'); i++) {
      ids = (await models()).data.map((m) => m.id);
      if (!ids.includes('alpha')) await new Promise((r) => setTimeout(r, 250));
    }
    expect(ids.sort()).toEqual(['alpha', 'beta']);
  }, 30_000);
});

describe('switchyard serve', () => {
  it('refuses to start on an invalid config and names the bad field', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'providers:\n  p: { type: openai, baseUrls: [nope] }\nroutes: {}\n',
    );
    const r = await run(['serve'], { SWITCHYARD_CONFIG: join(dir, 'bad.yaml') });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/providers\.p\.baseUrls\.0: /);
  });

  it('refuses a malformed SWITCHYARD_PROVIDER_KEYS without printing its value', async () => {
    const r = await run(['serve'], { SWITCHYARD_PROVIDER_KEYS: '{"relay": sk-secret-123' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('SWITCHYARD_PROVIDER_KEYS');
    expect(r.err).not.toContain('sk-secret-123');
  });

  it('finishes an in-flight stream on SIGTERM, then exits cleanly', async () => {
    const gw = await serve();
    const res = await fetch(`${gw.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        stream: true,
        messages: [{ role: 'user', content: 'a slow answer that drips /drip 150' }],
      }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    const exited = new Promise<number | null>((r) => gw.child.on('exit', (code) => r(code)));
    gw.child.kill('SIGTERM');
    let text = new TextDecoder().decode(first.value);
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      text += new TextDecoder().decode(next.value);
    }
    expect(text).toContain('data: [DONE]');
    expect(text).toContain('drip 150');
    expect(await exited).toBe(0);
    await expect(fetch(`${gw.origin}/health`)).rejects.toThrow();
  }, 30_000);
});

describe('switchyard help, version and usage errors', () => {
  it('prints help on stdout with exit code 0 — serve --help serves nothing — and the version', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      version: string;
    };
    const [top, create, serveHelp, version] = await Promise.all([
      run(['--help']),
      run(['keys', 'create', '-h']),
      run(['serve', '--help']),
      run(['--version']),
    ]);
    for (const r of [top, create, serveHelp, version]) expect([r.code, r.err]).toEqual([0, '']);
    expect(top.out).toMatch(/^Usage: switchyard <command>/);
    expect(top.out).toContain('keys revoke <id>');
    expect(create.out).toMatch(/^Usage: switchyard keys create --name <n>/);
    expect(serveHelp.out).toContain('SWITCHYARD_PROVIDER_KEYS');
    expect(serveHelp.out).not.toContain('listening');
    expect(version.out).toBe(`switchyard ${pkg.version}\n`);
  }, 30_000);

  it('says which command or flag is unknown, on stderr with the usage, and exits 2', async () => {
    const [command, sub, flag] = await Promise.all([
      run(['deploy']),
      run(['keys', 'delete', 'key_1']),
      run(['usage', '--by', 'model', '--sinse', '2026-01-01']),
    ]);
    expect([command.code, command.out]).toEqual([2, '']);
    expect(command.err).toMatch(/^unknown command "deploy"\n\nUsage: switchyard <command>/);
    expect([sub.code, sub.err.split('\n')[0]]).toEqual([2, 'unknown command "keys delete"']);
    expect([flag.code, flag.err.split('\n')[0]]).toEqual([2, 'usage: unknown flag --sinse']);
    expect(flag.err).toContain('Usage: switchyard usage');
  }, 30_000);
});
