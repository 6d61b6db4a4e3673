/** The CDK context (`-c key=value`, cdk.json): parsed with zod once, a bad value stops the synth naming it. */
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { readStackContext } from '../../lib/context.ts';

const contextOf = (context: Record<string, unknown>) => readStackContext(new App({ context }));

describe('stack context', () => {
  it('defaults: stack Switchyard, 16 usage shards, an IAM-only function URL', () => {
    expect(contextOf({})).toMatchObject({
      stackName: 'Switchyard',
      usageShards: 16,
      publicFunctionUrl: false,
      removalPolicy: 'retain',
      responsesTtlDays: 30,
    });
  });

  it('takes the stored-Responses TTL in whole days from -c responsesTtlDays=7 or cdk.json, 1 to 3650', () => {
    expect(contextOf({ responsesTtlDays: '7' }).responsesTtlDays).toBe(7);
    expect(contextOf({ responsesTtlDays: 90 }).responsesTtlDays).toBe(90);
    expect(contextOf({ responsesTtlDays: '3650' }).responsesTtlDays).toBe(3650);
    for (const bad of ['0', '-1', '1.5', 'month', '3651', '']) {
      expect(() => contextOf({ responsesTtlDays: bad })).toThrow(/responsesTtlDays/);
    }
  });

  it('schedules active health probes only when healthProbeMinutes is given, 1 to 1440', () => {
    expect(contextOf({}).healthProbeMinutes).toBeUndefined();
    expect(contextOf({ healthProbeMinutes: '5' }).healthProbeMinutes).toBe(5);
    expect(contextOf({ healthProbeMinutes: 60 }).healthProbeMinutes).toBe(60);
    for (const bad of ['0', '1441', '2.5', 'often']) {
      expect(() => contextOf({ healthProbeMinutes: bad })).toThrow(/healthProbeMinutes/);
    }
  });

  it('takes the usage shard count from -c usageShards=16 (a string) or cdk.json (a number)', () => {
    expect(contextOf({ usageShards: '16' }).usageShards).toBe(16);
    expect(contextOf({ usageShards: 32 }).usageShards).toBe(32);
    for (const bad of ['0', '-1', '2.5', 'many', '257']) {
      expect(() => contextOf({ usageShards: bad })).toThrow(/usageShards/);
    }
  });

  it('opens the function URL only for publicFunctionUrl=true, and refuses what is not a boolean', () => {
    expect(contextOf({ publicFunctionUrl: 'true' }).publicFunctionUrl).toBe(true);
    expect(contextOf({ publicFunctionUrl: true }).publicFunctionUrl).toBe(true);
    expect(contextOf({ publicFunctionUrl: 'false' }).publicFunctionUrl).toBe(false);
    for (const bad of ['yes', '1', 'TRUE', 1]) {
      expect(() => contextOf({ publicFunctionUrl: bad })).toThrow(/publicFunctionUrl/);
    }
  });

  it('still validates the other keys, naming the bad one', () => {
    expect(() => contextOf({ stackName: '1bad' })).toThrow(/stackName/);
    expect(() => contextOf({ memorySize: '64' })).toThrow(/memorySize/);
  });
});
