/**
 * Child process of the bench: the reference proxy — node:http in front of undici's pool (the same Agent
 * options as the gateway's upstream client), with none of the gateway's logic (no auth, validation,
 * routing, timers, logging or metrics). It answers "how much does any Node proxy add on this machine?", so
 * the gateway's numbers can be read against it. argv[2] = the upstream's OpenAI base URL.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { BENCH_PROVIDER_KEY, isToChild, reply, replyRss } from './ipc.ts';

const upstream = new URL(process.argv[2] ?? '');
const agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: `Bearer ${BENCH_PROVIDER_KEY}`,
    };
    const id = req.headers['x-request-id'];
    if (typeof id === 'string') headers['x-request-id'] = id;
    forward(req.method ?? 'POST', req.url ?? '/', headers, Buffer.concat(chunks).toString())
      .then(async (up) => {
        const type = String(up.headers['content-type'] ?? 'application/json');
        if (type.startsWith('text/event-stream')) {
          res.writeHead(up.statusCode, { 'content-type': type, 'cache-control': 'no-cache' });
          res.flushHeaders();
          for await (const c of up.body) res.write(c);
          res.end();
        } else {
          const body = Buffer.from(await up.body.arrayBuffer());
          res.writeHead(up.statusCode, { 'content-type': type, 'content-length': body.byteLength });
          res.end(body);
        }
      })
      .catch(() => res.destroy());
  });
});

function forward(method: string, path: string, headers: Record<string, string>, body: string) {
  return request(new URL(path, upstream.origin), {
    method: method === 'GET' ? 'GET' : 'POST',
    headers,
    body: method === 'GET' ? null : body,
    dispatcher: agent,
  });
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  process.on('message', (m: unknown) => {
    if (!isToChild(m)) return;
    if (m.type === 'rss') {
      replyRss();
    } else if (m.type === 'exit') {
      server.closeAllConnections();
      server.close(() => process.exit(0));
      void agent.close();
    }
  });
  process.on('disconnect', () => process.exit(0));
  reply({ type: 'ready', origin, url: `${origin}/v1` });
});
