/**
 * The Responses and Messages APIs through the gateway handler bundle in the Lambda harness
 * (support/gateway-bundle.ts), via function URL and REST API proxy events: a Response stored in the DynamoDB
 * table the stack names, continued, read (GET) and deleted (DELETE); a Message with `x-api-key`, and its errors
 * in Anthropic's shape with `request-id`.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoResponseStore } from '../../functions/aws/stores/dynamo-response-store.ts';
import { RESPONSES_TABLE } from '../../functions/core/stores/tables.ts';
import {
  FORMATS,
  type GatewayBundle,
  MASTER,
  PROMPT,
  sdk,
  startGatewayBundle,
} from './support/gateway-bundle.ts';

let bundle: GatewayBundle;

beforeAll(async () => {
  bundle = await startGatewayBundle();
});
afterAll(async () => bundle?.close());

describe.each(FORMATS)(
  'front doors of the gateway Lambda via %s events (runtime mocked by a shim)',
  (format) => {
    const front = () => bundle.frontOf(format);

    it('stores a Response in DynamoDB, continues it, reads it and deletes it', async () => {
      const client = sdk(front());
      const first = await client.responses.create({ model: 'gpt-4o-mini', input: PROMPT });
      expect(first.output_text).toBe(`echo: ${PROMPT}`);
      const table = bundle.conn.tableName(RESPONSES_TABLE);
      const store = new DynamoResponseStore(bundle.conn.client, table, {
        clock: { epochMs: () => Date.now() },
      });
      const stored = await store.get(first.id);
      expect(stored?.keyId).toBe('master');
      expect(stored?.servedBy).toEqual({ provider: expect.any(String), native: true });

      const before = bundle.provider.requests.length;
      await client.responses.create({
        model: 'gpt-4o-mini',
        input: 'and then?',
        previous_response_id: first.id,
      });
      const sent = bundle.provider.requests[before]?.body as Record<string, unknown>;
      expect(sent.previous_response_id).toBe(first.id);

      expect((await client.responses.retrieve(first.id)).id).toBe(first.id);
      const deleted = await client.responses.delete(first.id).asResponse();
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toEqual({ id: first.id, object: 'response', deleted: true });
      expect(await store.get(first.id)).toBeUndefined();
    });

    it('answers a Message to x-api-key, and its errors in Anthropic’s shape with request-id', async () => {
      const claude = new Anthropic({
        baseURL: front().baseURL,
        apiKey: MASTER,
        maxRetries: 0,
        timeout: 10_000,
      });
      const message = await claude.messages.create({
        model: 'gpt-4o-mini',
        max_tokens: 64,
        messages: [{ role: 'user', content: PROMPT }],
      });
      expect(message.content).toEqual([{ type: 'text', text: `echo: ${PROMPT}` }]);
      const err = await claude.messages
        .create({ model: 'no-such-route', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.NotFoundError);
      const e = err as InstanceType<typeof Anthropic.NotFoundError>;
      expect(e.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
      expect(e.headers.get('request-id')).toBe(e.headers.get('x-request-id'));
    });
  },
);
