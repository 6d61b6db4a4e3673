/**
 * The README's AWS facts match the code: the usage-table calls per Lambda record (counted on dynalite), the
 * REST API's timeout (streaming integrations pass 29 s without a quota increase), and the base URL apps are
 * told to use (the REST API, not the IAM-only function URL).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import { USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import { startEmbeddedStore } from '../../functions/local/embedded-store.ts';
import { faultyClient } from '../aws/support/faulty-dynamo.ts';
import { rec } from '../aws/support/ledger-records.ts';

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
const DEPLOY = README.slice(README.indexOf('\n## Deploy'), README.indexOf('\n## Develop'));

describe('README on AWS', () => {
  it('states the usage-table calls a Lambda record costs, as DynamoLedger.write makes them', async () => {
    const conn = await startEmbeddedStore(undefined);
    try {
      // Lambda writes one record at a time (LedgerWriter with batch: false) and the stream folds it.
      const probe = faultyClient(conn.client);
      const ledger = new DynamoLedger(probe.client, conn.tableName(USAGE_TABLE), {
        shards: 8,
        retentionDays: 1,
        fold: 'stream',
      });
      expect(await ledger.write(rec())).toBe('written');
      const claims = [...README.matchAll(/(\d+|one) calls? to\s+(?:the\s+usage\s+table|DynamoDB)/g)].map(
        (m) => (m[1] === 'one' ? 1 : Number(m[1])),
      );
      expect(claims.length).toBeGreaterThanOrEqual(2);
      expect(new Set(claims)).toEqual(new Set([probe.calls()]));
      expect(README).not.toMatch(/one\s+conditional\s+put\s+and\s+one\s+`ADD`/);
    } finally {
      await conn.close();
    }
  });

  it('says a streaming integration passes 29 s without a quota increase, citing AWS', () => {
    expect(DEPLOY).not.toMatch(/29 s needs/);
    expect(DEPLOY).toMatch(/runs past 29 s without any\s+quota increase/);
    expect(DEPLOY).toContain(
      'https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html',
    );
  });

  it('points apps at the REST API, and says what a public function URL bypasses', () => {
    expect(DEPLOY).toContain('Point the OpenAI SDK (and Codex, the AI SDK) at `<ApiUrl>v1`');
    expect(DEPLOY).toMatch(/the Anthropic SDK \(and Claude Code\) at\s+`<ApiUrl>`/);
    expect(DEPLOY).not.toContain('<FunctionUrl>v1');
    expect(DEPLOY).toMatch(/publicFunctionUrl=true/);
    expect(DEPLOY).toMatch(/skip\s+what the REST API gives — the stage throttle/);
  });
});
