/**
 * The Lambda assets as `cdk synth` builds them: the same app gives the same asset hashes wherever it is
 * synthesized (CDK hashes the bundle's output, so nothing in it may depend on the output path), and no source
 * map ships (the runtime would not use it: enabling one costs cold-start time, see README "Deploy").
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { SwitchyardStack } from '../../lib/switchyard-stack.ts';

const root = mkdtempSync(join(tmpdir(), 'sy-assets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Synthesized {
  readonly dir: string;
  /** Each function's logical id → its code's S3 key (the asset hash + `.zip`). */
  readonly codeKeys: Record<string, string>;
}

function synthInto(outdir: string): Synthesized {
  const app = new App({ outdir });
  const stack = new SwitchyardStack(app, 'Assets', { removalPolicy: 'destroy' });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: unknown } } }>;
  };
  const codeKeys = Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id, r]) => [id, String(r.Properties.Code?.S3Key)]),
  );
  return { dir: assembly.directory, codeKeys };
}

describe('Lambda assets', () => {
  it('hash the same in two output directories, and ship no source map', () => {
    const a = synthInto(join(root, 'a'));
    const b = synthInto(join(root, 'somewhere', 'much', 'deeper', 'b'));
    // The gateway, the reconciler and the ledger fold.
    expect(Object.keys(a.codeKeys)).toHaveLength(3);
    expect(b.codeKeys).toEqual(a.codeKeys);
    const assetDirs = readdirSync(a.dir).filter((d) => d.startsWith('asset.'));
    const files = assetDirs.flatMap((d) => readdirSync(join(a.dir, d)));
    expect(files).toContain('index.mjs');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  }, 240_000);
});
