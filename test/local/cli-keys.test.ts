/**
 * `switchyard keys create|list|edit|revoke` as a user runs it, on a temp data dir (the embedded store on disk),
 * and against a deployed stack's table (CloudFormation mocked by a fake endpoint: a control plane).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoRouteStore } from '../../functions/aws/stores/dynamo-route-store.ts';
import { parseConfig } from '../../functions/core/config/schema.ts';
import { CONFIG_TABLE, KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { openStore } from '../../functions/local/embedded-store.ts';
import { awsEnv, runCli } from '../support/cli-runner.ts';
import { type DynamoEndpoint, startDynamoEndpoint } from '../support/dynamo-endpoint.ts';
import { type FakeCloudFormation, startFakeCloudFormation } from '../support/fake-cloudformation.ts';

let dir: string;
const today = () => new Date().toISOString().slice(0, 10);
const run = (args: string[]) => runCli(args, { SWITCHYARD_DATA_DIR: join(dir, 'data') });

const ROUTES = `providers:
  mock: { type: mock }
routes:
  a: { targets: [{ provider: mock, model: m }] }
  b: { targets: [{ provider: mock, model: m }] }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-keys-'));
  await writeFile(join(dir, 'routes.yaml'), ROUTES);
  expect((await run(['routes', 'sync', join(dir, 'routes.yaml')])).code).toBe(0);
}, 30_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function rawItems(): Promise<string> {
  const conn = await openStore(join(dir, 'data'));
  try {
    const res = await conn.client.send(new ScanCommand({ TableName: conn.tableName(KEYS_TABLE) }));
    return JSON.stringify(res.Items ?? []);
  } finally {
    await conn.close();
  }
}

describe('switchyard keys (local store)', () => {
  let created: { id: string; key: string };

  it('creates a key, prints it once as JSON, and stores only its SHA-256', async () => {
    const r = await run(['keys', 'create', '--name', 'billing', '--models', 'a,b', '--rpm', '60', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    created = JSON.parse(r.out);
    expect(Object.keys(created).sort()).toEqual(['id', 'key']);
    expect(created.key).toMatch(/^sk-sy-[A-Za-z0-9_-]{43}$/);
    expect(created.id).toMatch(/^key_[0-9a-f]{12}$/);
    const items = await rawItems();
    expect(items).toContain(createHash('sha256').update(created.key).digest('hex'));
    expect(items).not.toContain(created.key);
  });

  it('lists keys with their limits and spend, never the key or its hash', async () => {
    await run(['keys', 'create', '--name', 'capped', '--budget-usd', '5', '--period', 'day']);
    const r = await run(['keys', 'list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`${created.id}\\s+billing\\s+a,b\\s+60\\s+-\\s+-`));
    expect(r.out).toMatch(/capped\s+\*\s+-\s+\$5\/day\s+\$0\.0000 \(\d{4}-\d{2}-\d{2}\)/);
    expect(r.out).not.toContain(created.key);
    expect(r.out).not.toContain(createHash('sha256').update(created.key).digest('hex'));
    const json = JSON.parse((await run(['keys', 'list', '--json'])).out) as { id: string; rpm: number }[];
    expect(json.find((k) => k.id === created.id)?.rpm).toBe(60);
  });

  it('makes an admin key with --admin (the admin API takes it), shown as such by keys list', async () => {
    const r = await run(['keys', 'create', '--name', 'ops', '--admin', '--json']);
    expect(r.code).toBe(0);
    const { id } = JSON.parse(r.out) as { id: string };
    const json = JSON.parse((await run(['keys', 'list', '--json'])).out) as { id: string; admin: boolean }[];
    expect(json.find((k) => k.id === id)?.admin).toBe(true);
    expect(json.find((k) => k.id === created.id)?.admin).toBe(false);
    expect((await run(['keys', 'list'])).out).toMatch(new RegExp(`${id}\\s+ops\\s.*active, admin`));
  });

  it('splits a busy key over --limit-shards items, and refuses shards that would leave a share of 0 rpm', async () => {
    const r = await run([
      'keys',
      'create',
      '--name',
      'busy',
      '--rpm',
      '8000',
      '--budget-usd',
      '400',
      '--limit-shards',
      '4',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const { id } = JSON.parse(r.out) as { id: string };
    const json = JSON.parse((await run(['keys', 'list', '--json'])).out) as {
      id: string;
      limitShards: number;
    }[];
    expect(json.find((k) => k.id === id)?.limitShards).toBe(4);
    expect(json.find((k) => k.id === created.id)?.limitShards).toBe(1);
    const few = await run(['keys', 'create', '--name', 'x', '--rpm', '3', '--limit-shards', '4']);
    expect([few.code, few.err.split('\n')[0]]).toEqual([
      2,
      'keys create: --rpm 3 is less than --limit-shards 4: each shard needs ≥ 1 request a minute',
    ]);
    const many = await run(['keys', 'create', '--name', 'x', '--limit-shards', '65']);
    expect(many.code).toBe(2);
    expect(many.err).toContain('--limit-shards must be ≤ 64');
  });

  it('bills a key to a team, and edits or removes its team later', async () => {
    const r = await run(['keys', 'create', '--name', 'checkout', '--team', 'payments', '--json']);
    expect(r.code).toBe(0);
    const { id } = JSON.parse(r.out) as { id: string };
    const teamOf = async () =>
      (JSON.parse((await run(['keys', 'list', '--json'])).out) as { id: string; team: string | null }[]).find(
        (k) => k.id === id,
      )?.team;
    expect(await teamOf()).toBe('payments');
    expect((await run(['keys', 'list'])).out).toMatch(new RegExp(`${id}\\s+checkout.*payments`));
    expect((await run(['keys', 'edit', id, '--team', 'growth'])).out).toBe(`${id}: team growth\n`);
    expect(await teamOf()).toBe('growth');
    expect((await run(['keys', 'edit', id, '--no-team'])).code).toBe(0);
    expect(await teamOf()).toBeNull();
    const none = await run(['keys', 'edit', id]);
    expect([none.code, none.err.split('\n')[0]]).toEqual([
      2,
      'keys edit: nothing to change: give --team T, --no-team, --models a,b, --all-models, --rpm N, --no-rpm, --budget-usd X, --period P or --no-budget',
    ]);
    const unknown = await run(['keys', 'edit', 'key_000000000000', '--team', 'x']);
    expect([unknown.code, unknown.err.trim()]).toEqual([1, 'keys edit: no key with id key_000000000000']);
    const long = await run(['keys', 'create', '--name', 'x', '--team', 'y'.repeat(65)]);
    expect(long.code).toBe(2);
  });

  it("edits a key's allow-list, rpm and budget with the rules of keys create, and removes them", async () => {
    const r = await run(['keys', 'create', '--name', 'tunable', '--limit-shards', '2', '--json']);
    const { id } = JSON.parse(r.out) as { id: string };
    const listed = async () =>
      (JSON.parse((await run(['keys', 'list', '--json'])).out) as Record<string, unknown>[]).find(
        (k) => k.id === id,
      );
    const set = await run(['keys', 'edit', id, '--models', 'a', '--rpm', '30', '--budget-usd', '7']);
    expect([set.code, set.out]).toEqual([0, `${id}: models a, rpm 30, budget $7/month\n`]);
    expect(await listed()).toMatchObject({
      models: ['a'],
      rpm: 30,
      budgetUsd: 7,
      period: 'month',
      limitShards: 2,
      window: new Date().toISOString().slice(0, 7),
      spentUsd: 0,
    });
    expect((await run(['keys', 'edit', id, '--period', 'day'])).out).toBe(`${id}: period day\n`);
    expect(await listed()).toMatchObject({ budgetUsd: 7, period: 'day', window: today() });
    const freed = await run(['keys', 'edit', id, '--all-models', '--no-rpm', '--no-budget']);
    expect(freed.out).toBe(`${id}: every model, no rpm, no budget\n`);
    const free = { models: null, rpm: null, budgetUsd: null, period: null, window: null, spentUsd: null };
    expect(await listed()).toMatchObject(free);

    const before = await rawItems();
    const refusals: [string[], string][] = [
      [['--models', 'a,nope'], '--models: no route named "nope" in this store (its routes: a, b)'],
      [
        ['--rpm', '1'],
        "--rpm 1 is less than the key's --limit-shards 2: each shard needs ≥ 1 request a minute",
      ],
      [['--period', 'day'], '--period needs --budget-usd'],
      [['--rpm', '0'], '--rpm must be ≥ 1'],
      [['--rpm', '5', '--no-rpm'], '--rpm and --no-rpm contradict each other: give one of them'],
      [
        ['--models', 'a', '--all-models'],
        '--models and --all-models contradict each other: give one of them',
      ],
      [
        ['--period', 'day', '--no-budget'],
        '--period and --no-budget contradict each other: give one of them',
      ],
      [['--limit-shards', '4'], 'unknown flag --limit-shards'],
    ];
    for (const [flags, message] of refusals) {
      const bad = await run(['keys', 'edit', id, ...flags]);
      expect([bad.code, bad.err.split('\n')[0]]).toEqual([2, `keys edit: ${message}`]);
    }
    expect(await rawItems()).toBe(before);
    // Fifteen CLI runs, each a process of its own that opens the store: a minute on a loaded machine.
  }, 120_000);

  it('revokes a key by id, and fails clearly for an unknown id', async () => {
    const r = await run(['keys', 'revoke', created.id]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('within 10 seconds');
    expect((await run(['keys', 'list'])).out).toMatch(new RegExp(`${created.id}.*revoked`));
    const bad = await run(['keys', 'revoke', 'key_000000000000']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('no key with id key_000000000000');
  });

  it('names the bad flag, with the usage and exit code 2', async () => {
    const r = await run(['keys', 'create', '--name', 'x', '--rpm', 'lots']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--rpm');
    expect(r.err).toContain('Usage: switchyard keys create');
    const p = await run(['keys', 'create', '--name', 'x', '--period', 'month']);
    expect(p.err).toContain('--period needs --budget-usd');
    const unknown = await run(['keys', 'list', '--name', 'x']);
    expect([unknown.code, unknown.err.split('\n')[0]]).toEqual([2, 'keys list: unknown flag --name']);
  });

  it('refuses --models naming no route of the store, says which and what exists, and writes nothing', async () => {
    const before = await rawItems();
    const r = await run(['keys', 'create', '--name', 'typo', '--models', 'a,gpt-4o,nope']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('no route named "gpt-4o", "nope" in this store (its routes: a, b)');
    expect(await rawItems()).toBe(before);
    const empty = await run(['keys', 'create', '--name', 'none', '--models', ',']);
    expect([empty.code, empty.err]).toEqual([2, expect.stringContaining('--models needs route names')]);
  });
});

describe('switchyard keys --stack (CloudFormation mocked by a fake endpoint)', () => {
  let dynamo: DynamoEndpoint;
  let cfn: FakeCloudFormation;
  beforeAll(async () => {
    dynamo = await startDynamoEndpoint();
    cfn = await startFakeCloudFormation({
      Prod: { KeysTableName: dynamo.tableName(KEYS_TABLE), ConfigTableName: dynamo.tableName(CONFIG_TABLE) },
    });
    await new DynamoRouteStore(dynamo.client, dynamo.tableName(CONFIG_TABLE)).sync(
      parseConfig(parseYaml(ROUTES.replace(/\ba:/, 'prod-only:')), 'prod.yaml'),
    );
  });
  afterAll(async () => {
    await cfn.close();
    await dynamo.close();
  });

  const runStack = (args: string[]) =>
    runCli([...args, '--stack', 'Prod'], {
      SWITCHYARD_DATA_DIR: join(dir, 'data'),
      ...awsEnv(cfn.url, dynamo.endpoint),
    });

  it("creates the key in the stack's keys table", async () => {
    const r = await runStack(['keys', 'create', '--name', 'prod-app', '--json', '--models', 'prod-only']);
    expect(r.err).toBe('');
    const { id } = JSON.parse(r.out) as { id: string };
    const keys = await new DynamoKeyRepo(dynamo.client, dynamo.tableName(KEYS_TABLE)).list();
    expect(keys.map((k) => [k.id, k.name, k.models])).toEqual([[id, 'prod-app', ['prod-only']]]);
  });

  it("checks --models against the stack's routes, not the local ones", async () => {
    const r = await runStack(['keys', 'create', '--name', 'x', '--models', 'a']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no route named "a" in this store (its routes: b, prod-only)');
  });
});
