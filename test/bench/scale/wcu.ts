/**
 * DynamoDB's write-unit arithmetic, from its documented item-size rules
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * an item's size is the sum over its attributes of the name's UTF-8 bytes plus the value's size — strings
 * their UTF-8 bytes, numbers 1 byte per two significant digits + 1, binary its raw bytes, booleans and nulls
 * 1 byte, lists and maps 3 bytes + 1 byte per element + their elements (a map's entry counts its name).
 * A write costs 1 WCU per started KB of the larger of the item before and after it (PutItem, UpdateItem,
 * DeleteItem; a failed condition still costs the item as it is, at least 1), per item in a BatchWriteItem,
 * and twice that in a transaction. An index with every attribute projected costs one write per changed
 * index entry: one when the item enters, leaves or changes in place, two when its index key changes.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

const KB = 1024;
const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Significant digits of a DynamoDB number: sign, decimal point, exponent and outer zeros dropped. */
function significantDigits(n: string): number {
  const [mantissa = ''] = n.toLowerCase().split('e');
  const digits = mantissa.replace(/[-+.]/g, '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.max(1, digits.length);
}

/** The size of one value (without its attribute name). */
export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return Math.ceil(significantDigits(v.N) / 2) + 1;
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((s, x) => s + utf8(x), 0);
  if (v.NS !== undefined) return v.NS.reduce((s, x) => s + Math.ceil(significantDigits(x) / 2) + 1, 0);
  if (v.BS !== undefined) return v.BS.reduce((s, x) => s + x.byteLength, 0);
  if (v.L !== undefined) return 3 + v.L.reduce((s, x) => s + 1 + valueSize(x), 0);
  if (v.M !== undefined)
    return 3 + Object.entries(v.M).reduce((s, [k, x]) => s + 1 + utf8(k) + valueSize(x), 0);
  return 0;
}

/** The item's size in bytes; 0 for no item. */
export function itemSize(item: Item | undefined): number {
  if (item === undefined) return 0;
  return Object.entries(item).reduce((s, [k, v]) => s + utf8(k) + valueSize(v), 0);
}

/** WCU of one write of a single item: the larger of before and after, per started KB, at least 1. */
export function writeUnits(before: Item | undefined, after: Item | undefined): number {
  return Math.max(1, Math.ceil(Math.max(itemSize(before), itemSize(after)) / KB));
}

/** WCU of a BatchWriteItem: each put or delete is billed as its own item. */
export function batchWriteUnits(items: readonly (Item | undefined)[]): number {
  return items.reduce((s, it) => s + writeUnits(undefined, it), 0);
}

/** WCU of a TransactWriteItems: twice each item's write. */
export function transactWriteUnits(writes: readonly { before?: Item; after?: Item }[]): number {
  return writes.reduce((s, w) => s + 2 * writeUnits(w.before, w.after), 0);
}

export interface IndexKeys {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
}

export interface IndexWrite {
  readonly index: string;
  /** The index's partition key value the write lands in. */
  readonly partition: string;
  readonly wcu: number;
}

const keyOf = (item: Item | undefined, ix: IndexKeys): string | undefined => {
  const pk = item?.[ix.partitionKey]?.S;
  if (pk === undefined) return undefined;
  return ix.sortKey === undefined ? pk : `${pk}\u0000${item?.[ix.sortKey]?.S ?? ''}`;
};
const same = (a: Item | undefined, b: Item | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The writes a base-table change makes to an ALL-projected index: none when the item is in neither version
 * or did not change; one when it enters, leaves or changes in place; two (delete + put) when its index key
 * changes. Each is billed by the index entry's size, which with ALL projection is the item's.
 */
export function indexWrites(ix: IndexKeys, before: Item | undefined, after: Item | undefined): IndexWrite[] {
  const kb = keyOf(before, ix);
  const ka = keyOf(after, ix);
  const at = (item: Item | undefined, size: number): IndexWrite => ({
    index: ix.name,
    partition: item?.[ix.partitionKey]?.S ?? '',
    wcu: Math.max(1, Math.ceil(size / KB)),
  });
  if (kb === undefined && ka === undefined) return [];
  if (kb === undefined) return [at(after, itemSize(after))];
  if (ka === undefined) return [at(before, itemSize(before))];
  if (kb !== ka) return [at(before, itemSize(before)), at(after, itemSize(after))];
  if (same(before, after)) return [];
  return [at(after, Math.max(itemSize(before), itemSize(after)))];
}
