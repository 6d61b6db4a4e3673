/**
 * dynalite on a loopback TCP port, with the stack's tables: the stand-in for a deployed stack's DynamoDB,
 * which the Lambda bundles and the `--stack` commands reach by URL (AWS_ENDPOINT_URL_DYNAMODB), as they reach
 * AWS. The local gateway's own store is never on TCP (functions/local/embedded-store.ts).
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { TableDefinition } from '../../functions/core/stores/tables.ts';
import { ensureTables, localTableName } from '../../functions/local/local-tables.ts';

export interface DynamoEndpoint {
  /** e.g. http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  tableName(def: TableDefinition): string;
  close(): Promise<void>;
}

export async function startDynamoEndpoint(): Promise<DynamoEndpoint> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTables(client);
  return {
    endpoint,
    client,
    tableName: localTableName,
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
