/**
 * A fake AWS Secrets Manager endpoint: a real node:http server on 127.0.0.1 speaking the AWS JSON 1.1
 * protocol the SDK uses (`POST /`, `X-Amz-Target: secretsmanager.<Operation>`, SigV4-signed), for
 * `GetSecretValue` only. Point the SDK at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER`. Secrets can be rotated
 * (`putSecret` makes a new AWSCURRENT version, the old one becomes AWSPREVIOUS) and calls are counted, so a
 * test can prove a value is cached and that a rotation is picked up.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../../support/loopback.ts';

const JSON_11 = 'application/x-amz-json-1.1';

export interface SecretsManagerCall {
  readonly operation: string;
  readonly secretId: string | undefined;
  /** The AWS error type answered, or undefined on success. */
  readonly error: string | undefined;
}

export interface FakeSecretsManager {
  readonly endpoint: string;
  readonly calls: readonly SecretsManagerCall[];
  /** Successful and failed GetSecretValue calls for `secretId` (any when omitted). */
  getSecretValueCount(secretId?: string): number;
  /** Creates the secret or rotates it: the new value becomes AWSCURRENT. Objects are JSON-encoded. */
  putSecret(name: string, value: string | Readonly<Record<string, unknown>>): void;
  deleteSecret(name: string): void;
  resetCalls(): void;
  close(): Promise<void>;
}

interface Version {
  readonly id: string;
  readonly value: string;
  readonly created: number;
  stages: string[];
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly versions: Version[];
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const arnSuffix = (): string =>
  Array.from(
    { length: 6 },
    () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[Math.floor(Math.random() * 52)],
  ).join('');

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': JSON_11,
    'content-length': String(Buffer.byteLength(text)),
    'x-amzn-requestid': randomUUID(),
    ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
  });
  res.end(text);
}

export async function startFakeSecretsManager(
  opts: { region?: string; accountId?: string } = {},
): Promise<FakeSecretsManager> {
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '123456789012';
  const secrets = new Map<string, Secret>();
  const calls: SecretsManagerCall[] = [];

  const find = (secretId: string): Secret | undefined =>
    secrets.get(secretId) ?? [...secrets.values()].find((s) => s.arn === secretId);

  function getSecretValue(input: Record<string, unknown>): Record<string, unknown> {
    const { SecretId, VersionId, VersionStage } = input;
    if (typeof SecretId !== 'string' || SecretId === '') {
      throw new AwsError('InvalidParameterException', 'You must provide a value for the SecretId parameter.');
    }
    const secret = find(SecretId);
    const version = secret?.versions.find((v) =>
      typeof VersionId === 'string'
        ? v.id === VersionId
        : v.stages.includes(typeof VersionStage === 'string' ? VersionStage : 'AWSCURRENT'),
    );
    if (secret === undefined || version === undefined) {
      throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: version.value,
      VersionId: version.id,
      VersionStages: [...version.stages],
      CreatedDate: version.created,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.headers['x-amz-target'];
    const operation = typeof target === 'string' ? target.replace(/^secretsmanager\./, '') : '';
    let secretId: string | undefined;
    try {
      const text = await readBody(req);
      if (req.method !== 'POST' || (req.url ?? '/') !== '/') {
        throw new AwsError('UnknownOperationException', `${req.method} ${req.url} is not an operation`, 404);
      }
      const auth = req.headers.authorization;
      if (typeof auth !== 'string' || !auth.startsWith('AWS4-HMAC-SHA256 Credential=')) {
        throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
      }
      if (!(req.headers['content-type'] ?? '').startsWith(JSON_11)) {
        throw new AwsError('SerializationException', `expected content-type ${JSON_11}`);
      }
      let input: unknown;
      try {
        input = JSON.parse(text === '' ? '{}' : text);
      } catch {
        throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
      }
      if (!isRecord(input)) throw new AwsError('SerializationException', 'expected a JSON object');
      if (typeof input.SecretId === 'string') secretId = input.SecretId;
      if (target !== 'secretsmanager.GetSecretValue') {
        throw new AwsError('UnknownOperationException', `unsupported operation ${String(target)}`);
      }
      const out = getSecretValue(input);
      calls.push({ operation, secretId, error: undefined });
      send(res, 200, out);
    } catch (err) {
      const e = err instanceof AwsError ? err : new AwsError('InternalServiceError', String(err), 500);
      calls.push({ operation, secretId, error: e.type });
      send(res, e.status, { __type: e.type, message: e.message }, e.type);
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  const listening = await listenOnLoopback(server);
  const { port } = listening;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    getSecretValueCount: (id) =>
      calls.filter((c) => c.operation === 'GetSecretValue' && (id === undefined || c.secretId === id)).length,
    putSecret(name, value) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      let secret = secrets.get(name);
      if (secret === undefined) {
        const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${arnSuffix()}`;
        secret = { name, arn, versions: [] };
        secrets.set(name, secret);
      }
      for (const v of secret.versions) {
        v.stages = v.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
      }
      secret.versions.push({
        id: randomUUID(),
        value: text,
        created: Date.now() / 1000,
        stages: ['AWSCURRENT'],
      });
    },
    deleteSecret(name) {
      secrets.delete(name);
    },
    resetCalls() {
      calls.length = 0;
    },
    close: listening.close,
  };
}
