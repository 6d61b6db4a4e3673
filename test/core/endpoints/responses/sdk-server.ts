// A loopback server that answers every request with one fixed body (a Response object, or Responses SSE
// events), so the official openai SDK can be run against what the translation writes: if the SDK parses it,
// a client will.
import { createServer } from 'node:http';
import OpenAI from 'openai';
import { type Listening, listenOnLoopback } from '../../../support/loopback.ts';

export interface SdkServer {
  readonly client: OpenAI;
  /** What the next requests are answered with. */
  answer(body: string, contentType?: 'application/json' | 'text/event-stream'): void;
  close(): Promise<void>;
}

export async function startSdkServer(): Promise<SdkServer> {
  let body = '{}';
  let type = 'application/json';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    });
  });
  const listening: Listening = await listenOnLoopback(server);
  return {
    client: new OpenAI({ baseURL: `${listening.origin}/v1`, apiKey: 'sk-test', maxRetries: 0 }),
    answer(b, t = 'application/json') {
      body = b;
      type = t;
    },
    close: () => listening.close(),
  };
}
