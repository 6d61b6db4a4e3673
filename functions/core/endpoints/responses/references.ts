/**
 * `item_reference` input items that name items the gateway made itself. A client that keeps its own history
 * sends earlier assistant turns back as references to their ids rather than as the items — the Vercel AI
 * SDK's OpenAI provider does so for every earlier text answer while `store` is true (its default). OpenAI
 * resolves such a reference from its own store; no provider can resolve an id the gateway wrote into a
 * translated answer, so the gateway does: a translated item's id names its response (`msg_<hex>_<index>`, from
 * `resp_<hex>`: response-object.ts `itemId`), which the store of responses holds while it lives.
 *
 * References to items a provider made (OpenAI's own ids) are left as they came: the provider that made them
 * resolves them, and a chat target refuses them (input-items.ts), as before.
 * https://platform.openai.com/docs/api-reference/responses/create#responses-create-input
 */
import { isRecord, type Json } from '../../json.ts';
import { DEFAULT_CONVERSATION_LIMITS, itemBytes, type ResponseStore } from '../../stores/response-store.ts';

/** An item id of a translated answer: its kind, its response's hex id, its place in `output`. */
const GATEWAY_ITEM_ID = /^(?:msg|fc)_([0-9a-f]{32})_(\d{1,5})$/;

/**
 * Stored responses one request may reference (each costs a read of the store). An agent conversation of more
 * answers than this should continue with `previous_response_id`; references past it stay unresolved (refused
 * by a chat target, naming the item).
 */
export const MAX_REFERENCED_RESPONSES = 256;

/** How many stored responses are read at once. */
const READS_AT_ONCE = 16;

/** Items by id, as a request's references resolved them. */
export type ReferencedItems = ReadonlyMap<string, Json>;

/** The id of the stored response a gateway-made item belongs to; undefined for any other id. */
export function responseIdOfItem(itemId: string): string | undefined {
  const hex = GATEWAY_ITEM_ID.exec(itemId)?.[1];
  return hex === undefined ? undefined : `resp_${hex}`;
}

/** The gateway-made item ids an `input` references (each once), in order. */
function referencedIds(input: unknown): string[] {
  if (!Array.isArray(input)) return [];
  const ids = new Set<string>();
  for (const item of input) {
    if (!isRecord(item) || item.type !== 'item_reference' || typeof item.id !== 'string') continue;
    if (responseIdOfItem(item.id) !== undefined) ids.add(item.id);
  }
  return [...ids];
}

/**
 * Reads the items an `input` references from the stored responses that hold them — only the key's own (a
 * reference to another key's item stays unresolved, as a missing one does, so a key learns nothing of another's
 * ids). The map is empty when the input references none (no read at all).
 */
export async function loadReferences(
  input: unknown,
  store: ResponseStore,
  keyId: string,
  signal?: AbortSignal,
): Promise<ReferencedItems> {
  const ids = referencedIds(input);
  const found = new Map<string, Json>();
  if (ids.length === 0) return found;
  const wanted = new Set(ids);
  const responses = [...new Set(ids.map((id) => responseIdOfItem(id) as string))].slice(
    0,
    MAX_REFERENCED_RESPONSES,
  );
  // What the reads may bring back in all, as a conversation walk may (32 MiB of items): past it, the rest of
  // the references stay unresolved, so one request cannot make the gateway read 256 large responses.
  let budget = DEFAULT_CONVERSATION_LIMITS.maxBytes;
  for (let i = 0; i < responses.length && budget > 0; i += READS_AT_ONCE) {
    const batch = await Promise.all(
      responses.slice(i, i + READS_AT_ONCE).map((id) => store.get(id, { keyId, signal })),
    );
    for (const stored of batch) {
      if (stored === undefined || stored.keyId !== keyId) continue;
      budget -= itemBytes(stored);
      for (const item of stored.output) {
        if (typeof item.id === 'string' && wanted.has(item.id)) found.set(item.id, item);
      }
    }
  }
  return found;
}

/**
 * The items with each resolved reference replaced by the item it names: `keepIds` false for a provider that
 * serves the Responses API (an id it did not make is not its to look up, so the item goes without it), true
 * for what the store keeps (a later continuation may reference the same item again).
 */
export function inlineReferences(items: readonly Json[], refs: ReferencedItems, keepIds: boolean): Json[] {
  return items.map((item) => {
    const found =
      item.type === 'item_reference' && typeof item.id === 'string' ? refs.get(item.id) : undefined;
    if (found === undefined) return item;
    if (keepIds) return found;
    const { id: _id, ...rest } = found;
    return rest;
  });
}
