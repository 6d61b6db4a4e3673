/**
 * `switchyard routes sync|list --stack`: the deployed table found through the stack output, with
 * CloudFormation mocked by a fake endpoint (a control plane that cannot run here) and DynamoDB as dynalite.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRouteStore } from '../../functions/aws/stores/dynamo-route-store.ts';
import { CONFIG_TABLE } from '../../functions/core/stores/tables.ts';
import { awsEnv, runCli } from '../support/cli-runner.ts';
import { type DynamoEndpoint, startDynamoEndpoint } from '../support/dynamo-endpoint.ts';
import { type FakeCloudFormation, startFakeCloudFormation } from '../support/fake-cloudformation.ts';

let dir: string;
let dynamo: DynamoEndpoint;
let cfn: FakeCloudFormation;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-stack-'));
  dynamo = await startDynamoEndpoint();
  cfn = await startFakeCloudFormation({
    Prod: { ConfigTableName: dynamo.tableName(CONFIG_TABLE), FunctionUrl: 'x' },
  });
});
afterAll(async () => {
  await cfn.close();
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

const run = (args: string[]) =>
  runCli(args, { SWITCHYARD_DATA_DIR: join(dir, 'data'), ...awsEnv(cfn.url, dynamo.endpoint) });

describe('switchyard routes --stack (CloudFormation mocked by a fake endpoint)', () => {
  it("syncs a file into the stack's table and lists it back", async () => {
    await writeFile(
      join(dir, 'prod.yaml'),
      'providers:\n  m: { type: mock }\nroutes:\n  fast: { targets: [{ provider: m, model: x }] }\n',
    );
    const sync = await run(['routes', 'sync', join(dir, 'prod.yaml'), '--stack', 'Prod']);
    expect(sync.err).toBe('');
    expect(sync.out).toContain('2 entries written');
    expect(sync.out).toContain('Prod picks them up within 30 s');
    const stored = await new DynamoRouteStore(dynamo.client, dynamo.tableName(CONFIG_TABLE)).load();
    expect(Object.keys(stored.routes)).toEqual(['fast']);
    const list = await run(['routes', 'list', '--stack', 'Prod']);
    expect(list.out).toMatch(/fast\s+fallback\s+m\/x/);
    expect(cfn.calls).toContain('DescribeStacks Prod');
  }, 30_000);

  it('says so when the stack does not exist', async () => {
    const r = await run(['routes', 'list', '--stack', 'Nope']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('Nope does not exist');
  }, 30_000);
});
