/**
 * The local host builds the stored-Responses store on its embedded store (the same DynamoDB code as Lambda,
 * on dynalite) and hands it out with its TTL: a stored response outlives a restart on the same data dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXAMPLE_CONFIG_YAML } from '../../functions/core/config/example.ts';
import { parseConfig } from '../../functions/core/config/schema.ts';
import { conversationOf, newStoredResponse } from '../../functions/core/stores/response-store.ts';
import { startGateway } from '../../functions/local/server.ts';

const MASTER = 'sk-sy-test-master-key-0123456789';
const config = parseConfig(parseYaml(EXAMPLE_CONFIG_YAML), 'example');
const quiet = { log: () => undefined };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-responses-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('startGateway: stored Responses', () => {
  it('stores responses in the embedded store with the TTL it was given, and finds them after a restart', async () => {
    const dataDir = join(dir, 'data');
    const first = await startGateway({
      config,
      masterKey: MASTER,
      logger: quiet,
      dataDir,
      responsesTtlDays: 7,
    });
    const createdAt = Math.floor(Date.now() / 1000);
    const r = newStoredResponse({
      id: 'resp_local_1',
      keyId: 'master',
      route: 'gpt-4o-mini',
      createdAt,
      ttlDays: first.responses.ttlDays,
      input: [{ type: 'message', role: 'user', content: 'remember me' }],
      output: [
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'echo: remember me' }] },
      ],
      response: { id: 'resp_local_1', object: 'response', status: 'completed' },
    });
    try {
      expect(first.responses.ttlDays).toBe(7);
      await first.responses.store.put(r);
    } finally {
      await first.close(0);
    }
    expect(r.expiresAt - createdAt).toBe(7 * 86_400);

    const again = await startGateway({ config, masterKey: MASTER, logger: quiet, dataDir });
    try {
      expect(again.responses.ttlDays).toBe(30); // the default when none is given
      expect(await again.responses.store.get(r.id)).toEqual(r);
      expect((await conversationOf(again.responses.store, r.id, 'master')).items).toEqual([
        ...r.input,
        ...r.output,
      ]);
    } finally {
      await again.close(0);
    }
  });
});
