/**
 * A fake AWS Lambda Invoke API (a control plane, mocked): a real node:http server on 127.0.0.1 taking the
 * REST call the SDK makes for `InvokeCommand` — `POST /2015-03-31/functions/{FunctionName}/invocations`,
 * SigV4-signed, the invocation type in `X-Amz-Invocation-Type` and the event as the body — and answering an
 * asynchronous (`Event`) invoke as Lambda does: 202 with no body. Point the SDK at it with
 * `AWS_ENDPOINT_URL_LAMBDA`. Every invoke is recorded.
 */
import { createServer } from 'node:http';
import { listenOnLoopback } from '../../support/loopback.ts';

const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export interface RecordedInvoke {
  readonly functionName: string;
  readonly invocationType: string | undefined;
  readonly signed: boolean;
  readonly payload: unknown;
}

export interface FakeLambdaInvoke {
  readonly endpoint: string;
  readonly invokes: RecordedInvoke[];
  close(): Promise<void>;
}

export async function startFakeLambdaInvoke(): Promise<FakeLambdaInvoke> {
  const invokes: RecordedInvoke[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = INVOKE.exec(new URL(req.url ?? '/', 'http://fake').pathname);
      if (req.method !== 'POST' || m === null) {
        res.writeHead(404, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'ResourceNotFoundException',
        });
        res.end(JSON.stringify({ Type: 'User', message: 'Function not found' }));
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const type = req.headers['x-amz-invocation-type'];
      invokes.push({
        functionName: decodeURIComponent(m[1] ?? ''),
        invocationType: Array.isArray(type) ? type[0] : type,
        signed: (req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 '),
        payload: text === '' ? undefined : (JSON.parse(text) as unknown),
      });
      res.writeHead(202, { 'x-amzn-requestid': `fake-${invokes.length}` });
      res.end();
    });
  });
  const listening = await listenOnLoopback(server);
  return { endpoint: listening.origin, invokes, close: () => listening.close() };
}
