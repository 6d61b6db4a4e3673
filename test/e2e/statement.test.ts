/**
 * Monthly statements from traffic sent through the gateway with the official SDK: several keys in two teams
 * and one without, a priced and an unpriced route, an upstream that reports no usage (estimated), and a
 * provider whose reconciliation drifted. The statement's totals equal the ledger's sums to the cent, its CSV
 * parses back into the same numbers, and it is the same byte for byte when made again from the same data; an
 * issued statement of a finished month stays as issued, and a replay after it shows as an amendment.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import { DynamoReportStore } from '../../functions/aws/stores/dynamo-report-store.ts';
import type { Report } from '../../functions/core/billing/report.ts';
import type { Amendment, Statement } from '../../functions/core/billing/statement.ts';
import { newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE, REPORTS_TABLE, USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import type { UsageRecord } from '../../functions/core/usage/types.ts';
import { connectStore } from '../../functions/local/embedded-store.ts';
import { localTableName } from '../../functions/local/local-tables.ts';
import { FileUsageSpool } from '../../functions/local/usage-spool.ts';
import { runCli } from '../support/cli-runner.ts';
import { type Harness, route, startHarness } from '../support/gateway-harness.ts';
import { ledgerRecords } from '../support/ledger-helpers.ts';

let h: Harness<'a' | 'b'>;
let dir: string;
const month = new Date().toISOString().slice(0, 7);
const today = new Date().toISOString().slice(0, 10);
const messages = [{ role: 'user' as const, content: 'statement traffic' }];
const keys = {
  pay1: newClientKey({ name: 'checkout', team: 'payments' }),
  pay2: newClientKey({ name: 'refunds', team: 'payments' }),
  grow: newClientKey({ name: 'experiments', team: 'growth' }),
  loose: newClientKey({ name: 'script' }),
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-statement-'));
  h = await startHarness({
    fakes: { a: {}, b: {} },
    config: (f) => ({
      providers: {
        a: { type: 'openai', baseUrls: [f.a.url] },
        b: { type: 'openai', baseUrls: [f.b.url] },
      },
      routes: {
        priced: route([{ provider: 'a', model: 'up-a' }]),
        unpriced: route([{ provider: 'b', model: 'up-b' }]),
      },
      prices: { 'a/up-a': { input: 1, output: 2, version: 'p-2026-11' } },
    }),
    gateway: { dataDir: dir },
  });
  const repo = new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE));
  for (const k of Object.values(keys)) await repo.put(k.record);
}, 60_000);
afterAll(async () => {
  await h?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const sdk = (k: { key: string }) => new OpenAI({ baseURL: h.baseURL, apiKey: k.key, maxRetries: 0 });
const cli = (args: string[]) =>
  runCli(['statement', '--month', month, ...args], { SWITCHYARD_DATA_DIR: dir });

describe('switchyard statement', () => {
  beforeAll(async () => {
    h.fakes.a.setDefault({ usage: { prompt_tokens: 100, completion_tokens: 50 } });
    for (const k of [keys.pay1, keys.pay1, keys.pay2, keys.grow, keys.loose])
      await sdk(k).chat.completions.create({ model: 'priced', messages });
    await sdk(keys.grow).chat.completions.create({ model: 'unpriced', messages });
    // No usage from the upstream: the gateway estimates it.
    h.fakes.a.setDefault({ usage: null });
    await sdk(keys.pay2).chat.completions.create({ model: 'priced', messages });
    h.fakes.a.setDefault({});
    await ledgerRecords(h.gateway);
    // Provider a's bill for today drifted from the ledger.
    const report: Report = {
      provider: 'a',
      day: today,
      billingType: 'openai-costs',
      verdict: 'drift',
      reason: 'bill $0.0020 vs ledger $0.0009 (+122%)',
      ledger: { costUsd: 0.0009, inputTokens: 0, outputTokens: 0, requests: 6, unpricedRequests: 0 },
      driftUsd: 0.0011,
      tolerancePercent: 2,
      partial: false,
    };
    await new DynamoReportStore(connectStore(h.gateway.storeSocket), localTableName(REPORTS_TABLE)).put(
      report,
    );
  }, 60_000);

  it('groups spend by team, then key, with totals equal to the ledger to the cent', async () => {
    const r = await cli(['--format', 'json']);
    // This month is not over: said on stderr, never in the statement.
    expect(r.err).toBe(`${month} is not over: its figures may still change (nothing issued)\n`);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as Statement;
    expect(s.number).toMatch(new RegExp(`^ST-${month}-[0-9a-f]{8}$`));
    expect(s.teams.map((t) => t.team)).toEqual(['growth', 'payments', null]);
    const payments = s.teams.find((t) => t.team === 'payments');
    expect(payments?.keys.map((k) => k.name).sort()).toEqual(['checkout', 'refunds']);
    const records = (await ledgerRecords(h.gateway)).filter((x) =>
      Object.values(keys).some((k) => k.record.id === x.keyId),
    );
    const cents = (v: number) => Math.round(v * 100);
    const ledgerCost = records.reduce((t, x) => t + (x.costUsd ?? 0), 0);
    expect(cents(s.total.costUsd)).toBe(cents(ledgerCost));
    expect(s.total.costUsd).toBeCloseTo(ledgerCost, 9);
    expect(s.total.requests).toBe(records.length);
    expect(s.total.inputTokens).toBe(records.reduce((t, x) => t + x.inputTokens, 0));
    // The unpriced route's request is counted, never as $0 of a price.
    expect(s.total.unpricedRequests).toBe(1);
    const growth = s.teams.find((t) => t.team === 'growth');
    expect(growth?.keys[0]?.lines.find((l) => l.provider === 'b')).toMatchObject({
      requests: 1,
      costUsd: 0,
      unpricedRequests: 1,
    });
    // The estimated request is shown apart, and each line names the price version it was charged at.
    expect(s.total.estimatedRequests).toBe(1);
    expect(s.total.estimatedCostUsd).toBeGreaterThan(0);
    expect(payments?.keys.flatMap((k) => k.lines).find((l) => l.provider === 'a')?.priceVersions).toEqual([
      'p-2026-11',
    ]);
    // Proof: provider a's cost today is drift (with the bill's difference), b's was never reconciled.
    const a = s.proof.providers.find((p) => p.provider === 'a');
    expect(a).toMatchObject({ confirmedUsd: 0, driftUsd: 0.0011, notReconciledUsd: 0 });
    expect(a?.driftedUsd).toBeCloseTo(s.total.costUsd, 9);
    expect(a?.reasons[0]).toMatchObject({ verdict: 'drift', days: [today] });
    expect(s.proof.providers.find((p) => p.provider === 'b')?.daysWithoutReport ?? []).toEqual([]);
    expect(s.byDay.find((d) => d.day === today)?.costUsd).toBeCloseTo(s.total.costUsd, 9);
  });

  it('is the same byte for byte when made again from the same data', async () => {
    const [x, y] = await Promise.all([cli(['--format', 'json']), cli(['--format', 'json'])]);
    expect(x.out).toBe(y.out);
    expect(x.out.length).toBeGreaterThan(100);
  });

  it('prints CSV a spreadsheet reads as numbers, which parses back into the same totals', async () => {
    const s = JSON.parse((await cli(['--format', 'json'])).out) as Statement;
    const text = (await cli(['--format', 'csv'])).out;
    expect(text).not.toContain('$');
    const [header, ...rows] = text
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    expect(header?.slice(0, 7)).toEqual([
      'kind',
      'team',
      'keyId',
      'keyName',
      'provider',
      'model',
      'requests',
    ]);
    const col = (name: string) => header?.indexOf(name) ?? -1;
    const total = rows.find((r) => r[0] === 'total');
    expect(Number(total?.[col('costUsd')])).toBeCloseTo(s.total.costUsd, 9);
    expect(Number(total?.[col('requests')])).toBe(s.total.requests);
    const lineSum = rows.filter((r) => r[0] === 'line').reduce((t, r) => t + Number(r[col('costUsd')]), 0);
    expect(lineSum).toBeCloseTo(s.total.costUsd, 9);
    expect(rows.filter((r) => r[0] === 'team subtotal').map((r) => r[1])).toEqual(['growth', 'payments', '']);
  });

  it("keeps one team's keys with --team, lists keys alone with --by key, and prints a readable table", async () => {
    const s = JSON.parse((await cli(['--team', 'payments', '--format', 'json'])).out) as Statement;
    expect(s.teams.map((t) => t.team)).toEqual(['payments']);
    expect(s.total.requests).toBe(4);
    const flat = JSON.parse((await cli(['--by', 'key', '--format', 'json'])).out) as Statement;
    expect(flat.teams).toHaveLength(1);
    expect(flat.teams[0]?.keys).toHaveLength(4);
    const table = await cli(['--issuer', 'Acme Corp']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(new RegExp(`^Statement ST-${month}-[0-9a-f]{8} — Acme Corp`));
    expect(table.out).toContain('(no team)');
    expect(table.out).toMatch(/drifted.*bill − ledger \+\$0\.0011/);
    const html = await cli(['--format', 'html']);
    expect(html.out.startsWith('<!doctype html>')).toBe(true);
    expect(html.out).toContain(`<title>Statement ${s.number.slice(0, 11)}`);
    expect(html.out).toContain("default-src 'none'");
    const bad = await runCli(['statement', '--month', '2026-13'], { SWITCHYARD_DATA_DIR: dir });
    expect([bad.code, bad.err.split('\n')[0]]).toEqual([2, 'statement: --month must be YYYY-MM']);
  });

  it('keeps an issued statement for a finished month, and shows a later replay as an amendment to it', async () => {
    const past = '2026-10';
    const ledger = new DynamoLedger(connectStore(h.gateway.storeSocket), localTableName(USAGE_TABLE), {
      shards: 1,
      retentionDays: 400,
    });
    const record = (i: number): UsageRecord => ({
      requestId: `oct-${i}`,
      recordId: `0199-oct-${i}`,
      time: `${past}-1${i}T10:00:00.000Z`,
      keyId: keys.pay1.record.id,
      endpoint: 'chat',
      route: 'priced',
      provider: 'a',
      model: 'up-a',
      status: 200,
      errorCode: null,
      inputTokens: 1000,
      outputTokens: 500,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      costUsd: 0.002,
      priceVersion: 'p-2026-10',
      latencyMs: 10,
      ttftMs: null,
      attempts: 1,
      stream: false,
      usageSource: 'provider',
      upstreamId: null,
    });
    for (const i of [1, 2]) await ledger.write(record(i));
    const pastCli = (args: string[]) =>
      runCli(['statement', '--month', past, ...args], { SWITCHYARD_DATA_DIR: dir });
    const first = await pastCli(['--issue', '--format', 'json']);
    expect(first.code).toBe(0);
    const issued = JSON.parse(first.out) as Statement;
    expect(first.err).toBe(`issued ${issued.number} for ${past}\n`);
    expect(issued.total.requests).toBe(2);
    // Issuing again keeps the first.
    expect(JSON.parse((await pastCli(['--issue', '--format', 'json'])).out).number).toBe(issued.number);
    // A record of that month replayed after the statement was issued.
    const spool = new FileUsageSpool(join(dir, 'late'));
    spool.spool(record(3), new Error('store down at the time'));
    const replay = await runCli(['usage', 'replay', spool.path], { SWITCHYARD_DATA_DIR: dir });
    expect(replay.out).toBe('1 written, 0 already there, 0 invalid\n');
    const now = JSON.parse((await pastCli(['--format', 'json'])).out) as Statement & { amendment: Amendment };
    expect(now.number).toBe(issued.number);
    expect(now.total).toEqual(issued.total);
    expect(now.amendment.number).not.toBe(issued.number);
    expect(now.amendment.delta).toMatchObject({ requests: 1, costUsd: 0.002, inputTokens: 1000 });
    expect(now.amendment.lines).toHaveLength(1);
    expect(now.amendment.lines[0]).toMatchObject({
      keyId: keys.pay1.record.id,
      provider: 'a',
      model: 'up-a',
    });
    const csvRows = (await pastCli(['--format', 'csv'])).out.trim().split('\n');
    expect(csvRows.filter((r) => r.startsWith('amendment'))).toHaveLength(2);
    expect((await pastCli([])).out).toMatch(/Amendment .* \+1 requests, \+\$0\.0020/);
    const early = await runCli(['statement', '--month', month, '--issue'], { SWITCHYARD_DATA_DIR: dir });
    expect([early.code, early.err.split('\n')[0]]).toEqual([
      2,
      `statement: --issue: ${month} is not over yet (issue a finished month)`,
    ]);
  });
});
