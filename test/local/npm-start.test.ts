/**
 * `npm start` under a process manager: the SIGTERM it sends to the process it started must stop the gateway
 * (npm forwards it to its script's process, which must be the gateway itself, not a shell or a tsx parent).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromBanner, isRunning, killAll } from '../support/serve-process.ts';

const MASTER = 'sk-sy-test-master-key-0123456789';
const REPO = join(import.meta.dirname, '../..');
let dir: string;
let data: string;
const orphans: number[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-npm-'));
  data = join(dir, 'data');
});
afterEach(async () => {
  killAll();
  for (const pid of orphans.splice(0)) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('stops the gateway when the process it started gets SIGTERM (no orphan keeps serving)', async () => {
    // The npm that runs this suite (npm test sets npm_execpath), else the one on PATH.
    const npmCli = process.env.npm_execpath;
    const npm =
      npmCli === undefined
        ? spawn('npm', ['start'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: envFor() })
        : spawn(process.execPath, [npmCli, 'start'], {
            cwd: REPO,
            stdio: ['ignore', 'pipe', 'pipe'],
            env: envFor(),
          });
    const gw = await fromBanner(npm);
    const { pid } = JSON.parse(await readFile(join(data, 'store.json'), 'utf8')) as { pid: number };
    orphans.push(pid);
    expect(pid).not.toBe(npm.pid);
    expect((await fetch(`${gw.origin}/health`)).status).toBe(200);

    npm.kill('SIGTERM');
    await gw.exited;
    for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(isRunning(pid)).toBe(false);
    await expect(fetch(`${gw.origin}/health`)).rejects.toThrow();
  }, 40_000);
});

function envFor(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: '0',
    SWITCHYARD_DATA_DIR: data,
    SWITCHYARD_MASTER_KEY: MASTER,
  };
}
