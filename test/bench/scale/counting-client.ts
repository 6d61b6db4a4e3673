/**
 * The counting layer: an SDK v3 middleware (initialize step, so one logical call however many times the SDK
 * retries it) on the DynamoDBClient the stores use. Per call it records the command, table, the items and
 * partition keys it touches, whether it writes, its write units by DynamoDB's rules (./wcu.ts) — reading the
 * item before and after each write through a second, uncounted client — the index writes it causes, and
 * whether it started before the request's upstream call (the critical path). Calls are attributed to the
 * request the bench runs at the time (the counting phase runs requests one at a time).
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  type KeysAndAttributes,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { TableDefinition } from '../../../functions/core/stores/tables.ts';
import { type IndexWrite, type Item, indexWrites, itemSize, writeUnits } from './wcu.ts';

export interface CountedCall {
  readonly command: string;
  readonly table: string;
  /** The base table's items touched: `<pk>` or `<pk>|<sk>`. */
  readonly items: string[];
  /** Partition key values touched (base table). */
  readonly partitions: string[];
  readonly write: boolean;
  /** Base-table write units (0 for reads). */
  wcu: number;
  /** Size of the (largest) item written, before or after, in bytes. */
  itemBytes: number;
  indexWrites: IndexWrite[];
  readonly beforeUpstream: boolean;
  /** When the call itself (not the bench's peek before it) started and ended, performance.now(). */
  startMs: number;
  endMs: number;
  failed?: string;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

type Input = {
  TableName?: string;
  Key?: Item;
  Item?: Item;
  RequestItems?: Record<string, WriteRequest[] | KeysAndAttributes>;
  TransactItems?: {
    Put?: { TableName?: string; Item?: Item };
    Update?: { TableName?: string; Key?: Item };
    Delete?: { TableName?: string; Key?: Item };
    ConditionCheck?: unknown;
  }[];
  KeyConditionExpression?: string;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
};

export class CallCounter {
  /** Calls of the request being counted; undefined between requests (setup and peeks are not counted). */
  private current: CountedCall[] | undefined;
  private upstreamCalled = false;
  private readonly defs: Map<string, TableDefinition>;

  constructor(
    /** An uncounted client on the same store, for the before/after reads. */
    private readonly peeker: DynamoDBClient,
    tables: ReadonlyMap<string, TableDefinition>,
  ) {
    this.defs = new Map(tables);
  }

  /** Installs the counting middleware on a client. */
  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const calls = this.current;
        if (calls === undefined) return next(args);
        const command = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        const input = args.input as Input;
        const critical = !this.upstreamCalled;
        const call = await this.before(command, input, critical);
        calls.push(call);
        call.startMs = performance.now();
        try {
          const out = await next(args);
          call.endMs = performance.now();
          await this.after(call, command);
          return out;
        } catch (err) {
          call.endMs = performance.now();
          call.failed = (err as { name?: string }).name ?? String(err);
          await this.after(call, command);
          throw err;
        }
      },
      { step: 'initialize', name: 'scaleBenchCounter' },
    );
  }

  /** Starts counting a request's calls. */
  begin(): void {
    this.current = [];
    this.upstreamCalled = false;
  }

  /** Stops counting and returns the request's calls. */
  end(): CountedCall[] {
    const calls = this.current ?? [];
    this.current = undefined;
    return calls;
  }

  /** Called by the in-process upstream's `send`: later calls are off the critical path. */
  upstream(): void {
    this.upstreamCalled = true;
  }

  private keyNames(table: string): string[] {
    const d = this.defs.get(table);
    if (d === undefined) return ['pk'];
    return d.sortKey === undefined ? [d.partitionKey.name] : [d.partitionKey.name, d.sortKey.name];
  }

  private keyOf(table: string, item: Item): Item {
    return Object.fromEntries(this.keyNames(table).flatMap((k) => (item[k] ? [[k, item[k]]] : [])));
  }

  private async peek(table: string, key: Item): Promise<Item | undefined> {
    const res = await this.peeker.send(
      new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
    );
    return res.Item;
  }

  /** The (table, key) pairs a call touches. */
  private targets(command: string, input: Input): { table: string; key: Item; put?: Item }[] {
    const t = input.TableName ?? '';
    switch (command) {
      case 'PutItem':
        return [{ table: t, key: this.keyOf(t, input.Item ?? {}), put: input.Item ?? {} }];
      case 'UpdateItem':
      case 'DeleteItem':
      case 'GetItem':
        return [{ table: t, key: input.Key ?? {} }];
      case 'BatchWriteItem':
        return Object.entries(input.RequestItems ?? {}).flatMap(([table, reqs]) =>
          (reqs as WriteRequest[]).map((r) =>
            r.PutRequest?.Item !== undefined
              ? { table, key: this.keyOf(table, r.PutRequest.Item), put: r.PutRequest.Item }
              : { table, key: r.DeleteRequest?.Key ?? {} },
          ),
        );
      case 'BatchGetItem':
        return Object.entries(input.RequestItems ?? {}).flatMap(([table, ka]) =>
          ((ka as KeysAndAttributes).Keys ?? []).map((key) => ({ table, key })),
        );
      case 'TransactWriteItems':
        return (input.TransactItems ?? []).flatMap((x) => {
          if (x.Put?.Item !== undefined) {
            const table = x.Put.TableName ?? '';
            return [{ table, key: this.keyOf(table, x.Put.Item), put: x.Put.Item }];
          }
          const u = x.Update ?? x.Delete;
          return u?.Key === undefined ? [] : [{ table: u.TableName ?? '', key: u.Key }];
        });
      default: {
        // Query/Scan: the partition asked for, when the key condition names one.
        const pk = Object.values(input.ExpressionAttributeValues ?? {}).find((v) => v.S !== undefined)?.S;
        return pk === undefined ? [{ table: t, key: {} }] : [{ table: t, key: { pk: { S: pk } } }];
      }
    }
  }

  private pending = new Map<CountedCall, { table: string; key: Item; put?: Item; before?: Item }[]>();

  private async before(command: string, input: Input, critical: boolean): Promise<CountedCall> {
    const write = WRITES.has(command);
    const targets = this.targets(command, input);
    const withBefore = write
      ? await Promise.all(targets.map(async (x) => ({ ...x, before: await this.peek(x.table, x.key) })))
      : targets;
    const call: CountedCall = {
      command,
      table: [...new Set(targets.map((x) => x.table))].join(','),
      items: targets.map((x) =>
        this.keyNames(x.table)
          .map((k) => x.key[k]?.S ?? x.key[k]?.N ?? '')
          .join('|'),
      ),
      partitions: [...new Set(targets.map((x) => x.key[this.keyNames(x.table)[0] ?? 'pk']?.S ?? ''))],
      write,
      wcu: 0,
      itemBytes: 0,
      indexWrites: [],
      beforeUpstream: critical,
      startMs: Number.NaN,
      endMs: Number.NaN,
    };
    this.pending.set(call, withBefore);
    return call;
  }

  private async after(call: CountedCall, command: string): Promise<void> {
    const targets = this.pending.get(call) ?? [];
    this.pending.delete(call);
    if (!call.write) return;
    const factor = command === 'TransactWriteItems' ? 2 : 1;
    let wcu = 0;
    let bytes = 0;
    const ix: IndexWrite[] = [];
    for (const t of targets) {
      const after = await this.peek(t.table, t.key);
      wcu += factor * writeUnits(t.before, after);
      bytes = Math.max(bytes, itemSize(t.before), itemSize(after));
      for (const index of this.defs.get(t.table)?.globalIndexes ?? []) {
        const keys = {
          name: index.name,
          partitionKey: index.partitionKey.name,
          ...(index.sortKey === undefined ? {} : { sortKey: index.sortKey.name }),
        };
        for (const w of indexWrites(keys, t.before, after)) ix.push({ ...w, wcu: w.wcu * factor });
      }
    }
    call.wcu = wcu;
    call.itemBytes = bytes;
    call.indexWrites = ix;
  }
}
