/**
 * An S3-compatible fake on loopback, for what the stack writes to S3: PutObject (path-style
 * `PUT /<bucket>/<key>`, as the SDK sends it with `forcePathStyle`) keeps each object's body and content
 * type; GetObject reads one back; anything else answers 501. Only the bucket it was started with exists.
 */
import { createServer } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface FakeS3 {
  /** e.g. http://127.0.0.1:PORT (AWS_ENDPOINT_URL_S3). */
  readonly endpoint: string;
  /** Objects by key. */
  readonly objects: Map<string, { readonly body: Buffer; readonly contentType: string | undefined }>;
  close(): Promise<void>;
}

export async function startFakeS3(bucket: string): Promise<FakeS3> {
  const objects: FakeS3['objects'] = new Map();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://s3.local');
    const [, b, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    if (b !== bucket || key === '') {
      res
        .writeHead(404, { 'content-type': 'application/xml' })
        .end('<Error><Code>NoSuchBucket</Code></Error>');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'PUT') {
        objects.set(key, { body: Buffer.concat(chunks), contentType: req.headers['content-type'] });
        res.writeHead(200, { etag: '"fake"' }).end();
      } else if (req.method === 'GET' && objects.has(key)) {
        const o = objects.get(key);
        res.writeHead(200, { 'content-type': o?.contentType ?? 'application/octet-stream' }).end(o?.body);
      } else res.writeHead(501).end();
    });
  });
  const listening = await listenOnLoopback(server);
  return { endpoint: listening.origin, objects, close: listening.close };
}
