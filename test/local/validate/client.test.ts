/** The validate client reads streams the way the gateway does: a relay's last event without its blank line counts. */
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUndiciClient } from '../../../functions/core/upstream/undici-client.ts';
import { localTokenCounter } from '../../../functions/local/token-counter.ts';
import { ValidateClient } from '../../../functions/local/validate/client.ts';
import { DEFAULT_LIMITS } from '../../../functions/local/validate/types.ts';
import { type Listening, listenOnLoopback } from '../../support/loopback.ts';

let server: Listening;
const http = createUndiciClient();
const chunk = (content: string) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

beforeAll(async () => {
  server = await listenOnLoopback(
    createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // The last event ends with a single newline, as some relays send it.
      res.end(`${chunk('hel')}${chunk('lo')}data: [DONE]\n`);
    }),
  );
});
afterAll(async () => {
  await server.close();
  await http.close();
});

describe('ValidateClient.stream', () => {
  it('takes a [DONE] the body ended with a single newline, as the gateway does', async () => {
    const subject = { name: 'r', baseUrl: `${server.origin}/v1`, key: 'k-123456', model: 'm' };
    const client = new ValidateClient(subject, DEFAULT_LIMITS, http, localTokenCounter());
    const out = await client.stream({ messages: [{ role: 'user', content: 'hi' }] });
    expect(out.content).toBe('hello');
    expect(out.done).toBe(true);
  });
});
