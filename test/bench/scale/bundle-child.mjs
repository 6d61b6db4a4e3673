// The gateway Lambda bundle in a plain Node process (no tsx: what runs is esbuild's output), run by
// ./bundle-streams.ts under --max-old-space-size: `n` streamed chat requests invoked at once through the
// handler, with the smallest stand-in for the runtime's `awslambda` global (streamifyResponse marks nothing,
// HttpResponseStream.from returns the stream and reads the prelude's status), memory sampled throughout.
// Argument: the bundle's path, then n. Environment: the function's (tables, secret, endpoints). Last line: JSON.
import { Writable } from 'node:stream';

const [bundle, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 100);
globalThis.awslambda = {
  streamifyResponse: (fn) => fn,
  HttpResponseStream: {
    from(stream, prelude) {
      stream.status = prelude?.statusCode;
      return stream;
    },
  },
};
const { handler } = await import(bundle);
const mb = (b) => Math.round((b / 1048576) * 10) / 10;
let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
};
const timer = setInterval(sample, 20);
const body = JSON.stringify({
  model: 'gpt-4o-mini',
  stream: true,
  messages: [{ role: 'user', content: 'stream me a sentence long enough for several chunks' }],
});
const invoke = async (i) => {
  let bytes = 0;
  const stream = new Writable({
    write(chunk, _enc, done) {
      bytes += chunk.length;
      done();
    },
  });
  stream.setContentType = () => {};
  const event = {
    version: '2.0',
    rawPath: '/v1/chat/completions',
    headers: { authorization: `Bearer ${process.env.BENCH_KEY}`, 'content-type': 'application/json' },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST' }, requestId: `bench-${i}` },
  };
  const context = {
    awsRequestId: `bench-${i}`,
    functionName: 'switchyard-gateway',
    getRemainingTimeInMillis: () => 60_000,
  };
  const done = new Promise((resolve) => stream.on('finish', resolve));
  await handler(event, stream, context);
  await done;
  return { status: stream.status, bytes };
};
const t0 = performance.now();
const results = await Promise.all(Array.from({ length: n }, (_, i) => invoke(i)));
const ms = performance.now() - t0;
sample();
clearInterval(timer);
const ok = results.filter((r) => r.status === 200 && r.bytes > 500).length;
process.stdout.write(
  `${JSON.stringify({ streams: n, succeeded: ok, ms: Math.round(ms), peakRssMb: mb(peakRss), peakHeapMb: mb(peakHeap) })}\n`,
);
process.exit(0);
