/**
 * `switchyard validate` as a user runs it (a child process): two relays compared side by side, the caps
 * printed before anything is sent, the table, `--json`, the HTML report, the exit codes — and Switchyard
 * itself as the target, in front of a well-behaved relay.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidateReport } from '../../functions/local/validate/types.ts';
import { runCli } from '../support/cli-runner.ts';
import { FAKE_RELAY_PRICES, type FakeRelay, startFakeRelay } from '../support/fake-relay.ts';
import { type Harness, route, startHarness } from '../support/gateway-harness.ts';

let dir: string;
let good: FakeRelay;
let buffered: FakeRelay;
let h: Harness<never>;
const FAST = ['--concurrency', '4', '--max-requests', '120', '--timeout-ms', '5000'];
const price = `${FAKE_RELAY_PRICES.input},${FAKE_RELAY_PRICES.output}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-validate-'));
  [good, buffered] = await Promise.all([
    startFakeRelay(),
    startFakeRelay({ faults: { bufferStream: true } }),
  ]);
  h = await startHarness({
    config: () => ({
      // The fake relay serves chat only, so the gateway is told so: /v1/responses is translated to its chat.
      providers: { relay: { type: 'openai', baseUrls: [good.url], endpoints: ['chat', 'embeddings'] } },
      routes: {
        'fake-gpt': route([{ provider: 'relay', model: 'fake-gpt' }], {
          timeouts: { firstByteMs: 5000, idleMs: 5000, totalMs: 20_000 },
        }),
      },
    }),
    providerKeys: { relay: good.key },
  });
}, 60_000);

afterAll(async () => {
  await h.close();
  await Promise.all([good.close(), buffered.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('switchyard validate', () => {
  it('compares two relays in one run: the caps first, a table with one column each, exit 1 for the failing one', async () => {
    const report = join(dir, 'compare.html');
    const r = await runCli(
      [
        'validate',
        '--target',
        `good=${good.url},${good.key},fake-gpt`,
        '--target',
        `buffered=${buffered.url},${buffered.key},fake-gpt`,
        '--price',
        price,
        '--report',
        report,
        ...FAST,
      ],
      {},
    );
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toMatch(
      /^Validating good\/fake-gpt, buffered\/fake-gpt — per target: at most 120 requests, at most \$0\.5 at /,
    );
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^check\s+good\/fake-gpt\s+buffered\/fake-gpt$/);
    expect(lines.find((l) => l.startsWith('connectivity.stream '))).toMatch(/pass\s+FAIL$/);
    expect(lines.find((l) => l.startsWith('verdict'))).toMatch(/pass\s+FAIL$/);
    expect(r.out).toMatch(/buffered\/fake-gpt connectivity\.stream: FAIL — /);
    const html = await readFile(report, 'utf8');
    expect(html).toContain('good/fake-gpt');
    expect(html).toContain('buffered/fake-gpt');
    expect(html).not.toMatch(/<script\s+src|<link\s/);
    expect(html).not.toContain(good.key);
  }, 120_000);

  it('--json prints the report for scripts, never the key, and exits 0 when every required check passes', async () => {
    const r = await runCli(
      ['validate', '--base-url', good.url, '--model', 'fake-gpt', '--json', '--price', price, ...FAST],
      { SWITCHYARD_VALIDATE_KEY: good.key },
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as ValidateReport;
    expect(report.passed).toBe(true);
    expect(report.subjects).toHaveLength(1);
    expect(report.subjects[0]?.subject).toMatchObject({
      name: 'default',
      model: 'fake-gpt',
      baseUrl: good.url,
    });
    expect(report.subjects[0]?.checks.filter((c) => c.required).every((c) => c.status === 'pass')).toBe(true);
    expect(r.out).not.toContain(good.key);
    expect(r.err).not.toContain(good.key);
  }, 120_000);

  it('validates Switchyard itself: the gateway in front of a good relay passes the checklist', async () => {
    const r = await runCli(
      ['validate', '--base-url', h.baseURL, '--key', h.masterKey, '--model', 'fake-gpt', '--json', ...FAST],
      {},
    );
    const report = JSON.parse(r.out) as ValidateReport;
    const failed = report.subjects[0]?.checks
      .filter((c) => c.status === 'fail')
      .map((c) => `${c.id}: ${c.summary}`);
    expect(failed).toEqual([]);
    expect(r.code).toBe(0);
  }, 120_000);

  it('answers bad flags with the usage and exit code 2, and --help with exit code 0', async () => {
    const bad = await runCli(['validate', '--target', 'nonsense'], {});
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--target must be name=URL,KEY,MODEL');
    const partial = await runCli(['validate', '--target', 'r=http://x.test/v1,SECRETKEY123'], {});
    expect(partial.code).toBe(2);
    expect(partial.err).not.toContain('SECRETKEY123');
    const help = await runCli(['validate', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: switchyard validate');
  });
});
