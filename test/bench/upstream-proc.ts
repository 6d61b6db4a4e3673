/**
 * Child process of the bench: the fake OpenAI upstream (test/support/fake-openai.ts, not recording), alone on
 * its event loop. argv[2] = gap between streamed chunks in ms.
 *
 * To measure how long the gateway holds each chunk, this process notes the monotonic time at which every SSE
 * frame of a stream request is handed to the socket (`res.write` / `res.end` of responses whose x-request-id
 * starts with STAMP_PREFIX). The hook only reads a header and pushes a number; the fake itself is unchanged.
 */
import { ServerResponse } from 'node:http';
import { startFakeOpenAI } from '../support/fake-openai.ts';
import { isToChild, monoMs, reply, replyRss, STAMP_PREFIX } from './ipc.ts';

const chunkDelayMs = Number(process.argv[2] ?? '5');
const stamps = new Map<string, number[]>();
const MAX_TRACKED = 5_000;

function stamp(res: ServerResponse, chunk: unknown): void {
  if (chunk === undefined || typeof chunk === 'function') return;
  const id = res.req?.headers['x-request-id'];
  if (typeof id !== 'string' || !id.startsWith(STAMP_PREFIX)) return;
  const t = monoMs();
  let list = stamps.get(id);
  if (list === undefined) {
    if (stamps.size >= MAX_TRACKED) stamps.clear(); // the parent stopped asking; never grow without bound
    list = [];
    stamps.set(id, list);
  }
  list.push(t);
}

const proto = ServerResponse.prototype;
const write = proto.write;
const end = proto.end;
proto.write = function (this: ServerResponse, ...args: unknown[]): boolean {
  stamp(this, args[0]);
  return Reflect.apply(write, this, args) as boolean;
} as unknown as typeof write;
proto.end = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
  stamp(this, args[0]);
  return Reflect.apply(end, this, args) as ServerResponse;
} as unknown as typeof end;

const fake = await startFakeOpenAI({ record: false });
fake.setDefault({ chunkDelayMs });

process.on('message', (m: unknown) => {
  if (!isToChild(m)) return;
  if (m.type === 'rss') {
    replyRss();
  } else if (m.type === 'stamps') {
    reply({ type: 'stamps', stamps: Object.fromEntries(stamps) });
    stamps.clear();
  } else {
    void fake.close().finally(() => process.exit(0));
  }
});
// The parent is gone (crashed or killed): do not outlive it.
process.on('disconnect', () => process.exit(0));

reply({ type: 'ready', origin: fake.origin, url: fake.url });
