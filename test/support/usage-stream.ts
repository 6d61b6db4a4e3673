/**
 * A stand-in for the usage table's DynamoDB stream, which dynalite does not have: an HTTP proxy on loopback in
 * front of dynalite that passes every call through and, for each PutItem of a new `req#` item into the
 * usage table that the store accepted, keeps the stream record DynamoDB would emit (INSERT, the new image, an
 * event id, a sequence number increasing in write order, the creation time). `take()` hands them out in
 * order, as a stream shard does; the fold function is then invoked with them the way Lambda's event source
 * mapping would. Only conditional puts (`attribute_not_exists`) count as new items — the ledger's own — so a
 * resent put that fails its condition adds no record, as in DynamoDB.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { DynamoStreamRecord } from '../../functions/aws/stores/ledger-stream-fold.ts';
import { listenOnLoopback } from './loopback.ts';

export interface UsageStream {
  /** The endpoint to give the writer (AWS_ENDPOINT_URL_DYNAMODB or a client's `endpoint`). */
  readonly url: string;
  /** The stream records since the last take, oldest first. */
  take(): DynamoStreamRecord[];
  close(): Promise<void>;
}

/** Sequence numbers as DynamoDB writes them: decimal digits, 21 here. */
const SEQ_BASE = 10n ** 20n;

export async function startUsageStream(target: string, usageTable: string): Promise<UsageStream> {
  const to = new URL(target);
  let seq = 0n;
  let records: DynamoStreamRecord[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upstream = request(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: to.host },
        },
        (up) => {
          const out: Buffer[] = [];
          up.on('data', (c: Buffer) => out.push(c));
          up.on('end', () => {
            if (up.statusCode === 200) observe(String(req.headers['x-amz-target'] ?? ''), body);
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(Buffer.concat(out));
          });
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });

  function observe(target: string, body: Buffer): void {
    if (!target.endsWith('.PutItem')) return;
    const input = JSON.parse(body.toString('utf8')) as {
      TableName?: string;
      Item?: Record<string, { S?: string }>;
      ConditionExpression?: string;
    };
    const item = input.Item;
    if (input.TableName !== usageTable || item === undefined || !item.pk?.S?.startsWith('req#')) return;
    if (!input.ConditionExpression?.includes('attribute_not_exists')) return;
    seq++;
    records.push({
      eventID: randomBytes(16).toString('hex'),
      eventName: 'INSERT',
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        SequenceNumber: String(SEQ_BASE + seq),
        NewImage: item,
      },
    });
  }

  const listening = await listenOnLoopback(server);
  return {
    url: listening.origin,
    take() {
      const out = records;
      records = [];
      return out;
    },
    close: listening.close,
  };
}
