/**
 * What a Responses request carries from `prepare` to its calls and its end: its own id (for a translated
 * answer), the stored response it continues (`previous_response_id`, checked against the client key before
 * anything else happens), the earlier turns loaded once and only when a target needs them, and how the answer
 * is kept (`store`, default true) before the client sees it end.
 *
 * The continuation is read lazily on purpose: a request that goes back, as the client sent it, to the
 * provider that served the response it continues (OpenAI keeps its own state) costs one store read — the
 * named response, for the ownership check and the budget bound — and never the walk of the whole chain.
 */
import { isRecord, type Json } from '../../json.ts';
import { uuidv7 } from '../../request-id.ts';
import {
  conversationOf,
  DEFAULT_CONVERSATION_LIMITS,
  isResponseId,
  newStoredResponse,
  PreviousResponseNotFoundError,
  type ResponseStore,
  type ServedBy,
  type StoredResponse,
} from '../../stores/response-store.ts';
import type { PrepareContext } from '../spec.ts';
import { inlineReferences, loadReferences, type ReferencedItems } from './references.ts';
import type { ResponsesRequest } from './schema.ts';

/**
 * How much larger than its provider's count an earlier conversation may be on another target: tokenizers
 * differ (Claude's counts run about a fifth above OpenAI's on English text), and the bound must hold on every
 * target the request may fall over to.
 */
export const CROSS_TOKENIZER_FACTOR = 1.5;

/**
 * How long the answer's end waits for its Response to be stored. DynamoDB answers a put in milliseconds; its
 * client gives up on a try after 5 s and retries, so a store in trouble could hold the end for many seconds.
 */
export const KEEP_WAIT_MS = 3_000;

export class ResponsesState {
  /** The id of a translated answer: what the client holds and the store keys. */
  readonly id = `resp_${uuidv7().replaceAll('-', '')}`;
  /** The request's own input as items (a string input is one user message): what the store keeps of it. */
  readonly inputItems: readonly Json[];
  private items: Promise<readonly Json[]> | undefined;
  /** The earlier turns, once loaded (the budget bound then counts them instead of the stored usage). */
  loaded: readonly Json[] | undefined;
  /** The provider that served the response continued no longer holds it ({@link forget}). */
  private forgotten = false;
  /**
   * The items the input's `item_reference`s name that the gateway made (references.ts): read in `prepare`, so
   * every target and the budget bound see them.
   */
  references: ReferencedItems = new Map();

  private constructor(
    private readonly ctx: PrepareContext,
    private readonly body: ResponsesRequest,
    /** The stored response the request continues. */
    readonly previous: StoredResponse | undefined,
  ) {
    this.inputItems = inputItemsOf(body.input);
  }

  /** Reads the response `previous_response_id` names (it must be the key's); loads its turns when needed. */
  static async prepare(body: ResponsesRequest, ctx: PrepareContext): Promise<ResponsesState> {
    const store = ctx.responses?.store;
    const prevId = body.previous_response_id;
    let state: ResponsesState;
    if (typeof prevId !== 'string') {
      state = new ResponsesState(ctx, body, undefined);
    } else {
      const read = { keyId: ctx.keyId, signal: ctx.signal };
      const previous =
        store !== undefined && isResponseId(prevId) ? await store.get(prevId, read) : undefined;
      if (previous === undefined || previous.keyId !== ctx.keyId)
        throw new PreviousResponseNotFoundError(prevId);
      state = new ResponsesState(ctx, body, previous);
      // Without a count of the earlier turns the bound needs the turns themselves.
      if (state.previousTokens === undefined) state.loaded = await state.conversation();
    }
    if (store !== undefined) {
      state.references = await loadReferences(body.input, store, ctx.keyId, ctx.signal);
    }
    return state;
  }

  /** When the request arrived, epoch seconds (the Response's `created_at`). */
  get createdAt(): number {
    return Math.floor(this.ctx.epochMs / 1000);
  }

  /**
   * The tokens of the earlier conversation as a bound for any target: what the provider counted for the
   * response it continues (its input, which held every earlier turn, plus its output), with room for another
   * tokenizer. Undefined when the stored response has no usage.
   */
  get previousTokens(): number | undefined {
    const usage = isRecord(this.previous?.response.usage) ? this.previous.response.usage : undefined;
    const input = usage?.input_tokens;
    const output = usage?.output_tokens;
    if (typeof input !== 'number' || typeof output !== 'number') return undefined;
    return Math.ceil(CROSS_TOKENIZER_FACTOR * (input + output));
  }

  /** The earlier turns' items, oldest first ([] without `previous_response_id`); read from the store once. */
  conversation(): Promise<readonly Json[]> {
    const previous = this.previous;
    const store = this.ctx.responses?.store;
    if (previous === undefined || store === undefined) return Promise.resolve([]);
    // The named response is read already: the walk starts from it.
    const seeded: ResponseStore = {
      get: (id, opts) => (id === previous.id ? Promise.resolve(previous) : store.get(id, opts)),
      put: (r) => store.put(r),
      delete: (id) => store.delete(id),
    };
    this.items ??= conversationOf(
      seeded,
      previous.id,
      this.ctx.keyId,
      DEFAULT_CONVERSATION_LIMITS,
      this.ctx.signal,
    ).then((c) => c.items);
    return this.items;
  }

  /**
   * Whether a target may get the request as the client sent it, `previous_response_id` and all: it served
   * the response continued, natively, so it holds the conversation itself — unless it said it does not.
   */
  holdsConversation(providerId: string): boolean {
    const by = this.previous?.servedBy;
    if (this.previous === undefined) return true;
    return by?.native === true && by.provider === providerId && !this.forgotten;
  }

  /**
   * The provider that served the response continued answered `previous_response_not_found` (a relay that
   * sent it to another upstream account, a key of another project, its own retention over): from now on it
   * gets the earlier turns as input. True the first time only, so the attempt is made again once.
   */
  forget(providerId: string): boolean {
    if (this.forgotten || !this.holdsConversation(providerId) || this.previous === undefined) return false;
    this.forgotten = true;
    return true;
  }

  /**
   * Keeps the answer's Response (unless `store` is false or the host keeps none), secrets masked, before the
   * client sees it end. A store that fails is logged, not the client's failure: the answer is served, and a
   * later `previous_response_id` naming it gets 400 `previous_response_not_found` (which Codex answers by
   * sending the whole input).
   */
  async keep(response: Json | undefined, servedBy: ServedBy): Promise<void> {
    const storage = this.ctx.responses;
    if (storage === undefined || this.body.store === false || response === undefined) return;
    const id = typeof response.id === 'string' ? response.id : this.id;
    if (!isResponseId(id)) {
      this.ctx.warn('response not stored: its id is empty or longer than 256 characters');
      return;
    }
    const secrets = this.ctx.secrets;
    const masked: Json = secrets.size === 0 ? response : JSON.parse(secrets.mask(JSON.stringify(response)));
    const record = newStoredResponse({
      id,
      keyId: this.ctx.keyId,
      route: this.ctx.route,
      createdAt: this.createdAt,
      ttlDays: storage.ttlDays,
      // Referenced items are kept as the items: the conversation stays whole on any target, whatever expires.
      input:
        this.references.size === 0
          ? this.inputItems
          : inlineReferences(this.inputItems, this.references, true),
      output: Array.isArray(masked.output) ? masked.output.filter(isRecord) : [],
      response: masked,
      servedBy,
      ...(this.previous === undefined
        ? {}
        : { previous: { ids: [...(this.previous.ancestors ?? []), this.previous.id] } }),
    });
    const put = storage.store.put(record).then(
      () => true,
      (err: unknown) => {
        this.ctx.warn('response not stored: the response store failed');
        this.ctx.logger.log('error', 'response not stored', {
          requestId: this.ctx.requestId,
          responseId: id,
          error: secrets.mask(String(err)).slice(0, 500),
        });
        return false;
      },
    );
    // A store that hangs must not hold the answer's end: past the wait the answer goes out, and the write
    // goes on in the background (the hosts finish it before they stop), so a continuation may still find it.
    const waitMs = storage.keepWaitMs ?? KEEP_WAIT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<'slow'>((resolve) => {
      timer = setTimeout(() => resolve('slow'), waitMs);
    });
    const outcome = await Promise.race([put, waited]);
    clearTimeout(timer);
    if (outcome === 'slow') {
      this.ctx.warn(`response stored late: the response store took over ${waitMs} ms`);
      this.ctx.background?.add(put);
    }
  }
}

/** A Responses `input` as items: a string is one user message (as OpenAI lists it under input_items). */
export function inputItemsOf(input: unknown): readonly Json[] {
  if (typeof input === 'string') {
    return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  }
  return Array.isArray(input) ? input.filter(isRecord) : [];
}

/**
 * Earlier turns as input items for a provider that serves Responses but did not answer them: without item ids
 * (ids name items stored at the provider that made them) and without reasoning items (another provider's
 * reasoning, often encrypted for it alone). The answer stays valid without them, as a chat target's does.
 */
export function portableItems(items: readonly Json[]): Json[] {
  const out: Json[] = [];
  for (const item of items) {
    if (item.type === 'reasoning' || item.type === 'item_reference') continue;
    const { id: _id, ...rest } = item;
    out.push(rest);
  }
  return out;
}
