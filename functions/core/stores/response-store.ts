/**
 * Stored Responses (the Responses API's `store`, default true): each response's own input items and its output
 * items, kept for a TTL, so `previous_response_id` works on every target — translated ones included — and a
 * conversation can move to another provider mid-way; `GET`/`DELETE /v1/responses/{id}` read and remove them.
 *
 * This file is the port ({@link ResponseStore}) and the pure logic over it: building a record
 * ({@link newStoredResponse}), checking its owner ({@link ownedResponse}) and rebuilding a conversation from
 * its chain of `previous_response_id` links ({@link conversationOf}). Adapters: the DynamoDB one
 * (functions/aws/stores/dynamo-response-store.ts, also used locally on dynalite) and an in-memory one
 * (memory-response-store.ts).
 */
import * as z from 'zod';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import type { Json } from '../json.ts';

/** One stored response. Times are epoch seconds, like the Response object's `created_at`. */
export interface StoredResponse {
  /** The id the client holds (`resp_…`), at most {@link MAX_RESPONSE_ID_LENGTH} characters. */
  readonly id: string;
  /** The client key that made it: only that key may read, delete or continue it. */
  readonly keyId: string;
  /** The route (the model name the client sent). */
  readonly route: string;
  readonly createdAt: number;
  /** From this second on no reader gets it (DynamoDB's TTL deletes it up to days later). */
  readonly expiresAt: number;
  /** The request's own input items: those of earlier responses are theirs, not repeated here. */
  readonly input: readonly Json[];
  readonly output: readonly Json[];
  readonly previousResponseId?: string;
  /**
   * Ids of up to {@link ANCESTOR_HINTS} responses before this one, oldest first (the last is
   * `previousResponseId`). Only a hint: {@link conversationOf} fetches them ahead of its walk, so a long chain
   * costs a few round trips instead of one per response; the links themselves are `previousResponseId`.
   */
  readonly ancestors?: readonly string[];
  /** The Response object as it was returned (what `GET /v1/responses/{id}` answers). */
  readonly response: Json;
  /**
   * Who answered: the provider (its config id) and whether it served `/v1/responses` itself (`native`: it
   * keeps its own copy, so a continuation sent to it again can go as the client sent it).
   */
  readonly servedBy?: ServedBy;
}

/** The provider that answered a stored response, and how. */
export interface ServedBy {
  readonly provider: string;
  readonly native: boolean;
}

/**
 * Where stored responses live. Ids are never reused: a second `put` of an id is refused. A reader never gets a
 * response that is expired, partly written or being deleted. Ownership is not the store's business: go through
 * {@link ownedResponse} and {@link conversationOf}.
 */
/** How a request reads a stored response. */
export interface ReadOptions {
  /**
   * Only this key's response: another key's reads as missing, and is found so from its head alone (the DynamoDB
   * adapter reads no parts of it).
   */
  readonly keyId?: string | undefined;
  /** The request's signal (client gone, its deadline, a shutdown): an aborted read rejects. */
  readonly signal?: AbortSignal | undefined;
}

export interface ResponseStore {
  /** Stores a response; throws {@link ResponseStoreError} (`id_taken`, `too_large`) or the store's error. */
  put(response: StoredResponse): Promise<void>;
  /** The response, or undefined when it is missing, expired, partly written, being deleted or not `opts.keyId`'s. */
  get(id: string, opts?: ReadOptions): Promise<StoredResponse | undefined>;
  /** Removes every trace of the response; true when a live (unexpired) one was there. */
  delete(id: string): Promise<boolean>;
}

/**
 * What a host builds and hands the gateway: the store and the TTL new responses get (the hosts read it from
 * `SWITCHYARD_RESPONSES_TTL_DAYS`).
 */
export interface ResponseStorage {
  readonly store: ResponseStore;
  readonly ttlDays: number;
  /**
   * How long an answer's end waits for its Response to be stored before it goes out anyway (the write then
   * finishes in the background); default 3 s (endpoints/responses/state.ts).
   */
  readonly keepWaitMs?: number;
}

/** Why a store refused a `put`: the id is stored already, or the response is larger than the store keeps. */
export class ResponseStoreError extends Error {
  constructor(
    readonly reason: 'id_taken' | 'too_large',
    message: string,
  ) {
    super(message);
    this.name = 'ResponseStoreError';
  }
}

/** Ids (and key ids, routes) are names from outside: longer ones are never stored nor looked up. */
export const MAX_RESPONSE_ID_LENGTH = 256;
/** How many earlier ids a response carries as {@link StoredResponse.ancestors}. */
export const ANCESTOR_HINTS = 64;
/** Time to live of a stored response when the host sets none (OpenAI keeps them 30 days). */
export const DEFAULT_RESPONSES_TTL_DAYS = 30;
/** Ten years: past that a TTL is a typo, not a retention policy. */
export const MAX_RESPONSES_TTL_DAYS = 3_650;
/**
 * The TTL in days as the hosts' environments (`SWITCHYARD_RESPONSES_TTL_DAYS`) and the stack's context
 * (`responsesTtlDays`) give it: a whole number of days from 1 to {@link MAX_RESPONSES_TTL_DAYS}, default 30.
 */
export const responsesTtlDaysSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(MAX_RESPONSES_TTL_DAYS)
  .default(DEFAULT_RESPONSES_TTL_DAYS);

/** Whether a value may be a stored response's id (1–256 characters); any other is "not found" unread. */
export function isResponseId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_RESPONSE_ID_LENGTH;
}

/**
 * Throws a RangeError when a record cannot be stored as it is: an id, key id, route or previous id that is empty
 * or longer than {@link MAX_RESPONSE_ID_LENGTH}, or times that are not whole epoch seconds. Every adapter's
 * `put` checks it first (these are the pipeline's values, so a failure is a bug, not a client error).
 */
export function assertStorable(r: StoredResponse): void {
  const names = { id: r.id, keyId: r.keyId, route: r.route, previousResponseId: r.previousResponseId ?? 'x' };
  for (const [name, value] of Object.entries(names)) {
    if (!isResponseId(value)) throw new RangeError(`${name} must be 1–${MAX_RESPONSE_ID_LENGTH} characters`);
  }
  if (!Number.isSafeInteger(r.createdAt) || !Number.isSafeInteger(r.expiresAt)) {
    throw new RangeError('createdAt and expiresAt must be whole epoch seconds');
  }
}

/** Whether the response is past its expiry at `nowMs` (epoch milliseconds). */
export function isExpired(r: Pick<StoredResponse, 'expiresAt'>, nowMs: number): boolean {
  return r.expiresAt * 1000 <= nowMs;
}

/** An id from outside, fit for a message: the id as sent when it is a possible id, else its first characters. */
function shown(id: string): string {
  return isResponseId(id) ? id : `${id.slice(0, 32)}…`;
}

/**
 * `previous_response_id` names no response this key may continue: missing, expired, deleted, or another key's
 * (not told apart, so a key learns nothing about another's ids). Status, code, param and message are OpenAI's
 * own (400 `previous_response_not_found`), which clients such as Codex recognise to resend the whole input.
 */
export class PreviousResponseNotFoundError extends InvalidRequestError {
  constructor(id: string) {
    super({
      code: 'previous_response_not_found',
      param: 'previous_response_id',
      message: `Previous response with id '${shown(id)}' not found.`,
    });
  }
}

/** `GET`/`DELETE /v1/responses/{id}` of a response this key does not have (OpenAI answers 404 too). */
export class ResponseNotFoundError extends NotFoundError {
  constructor(id: string) {
    super({ code: 'response_not_found', message: `Response with id '${shown(id)}' not found.` });
  }
}

/** The response `id` if it is there and `keyId`'s; else {@link ResponseNotFoundError}. */
export async function ownedResponse(
  store: ResponseStore,
  id: string,
  keyId: string,
  signal?: AbortSignal,
): Promise<StoredResponse> {
  const r = isResponseId(id) ? await store.get(id, { keyId, signal }) : undefined;
  if (r === undefined || r.keyId !== keyId) throw new ResponseNotFoundError(id);
  return r;
}

/** Bounds on the conversation a `previous_response_id` brings back. */
export interface ConversationLimits {
  /** Responses in the chain, the one named included. */
  readonly maxResponses: number;
  /** UTF-8 bytes of the items' JSON, summed over the chain. */
  readonly maxBytes: number;
  /** Reads in flight ahead of the walk (from {@link StoredResponse.ancestors}). */
  readonly prefetch: number;
}

/**
 * 1,000 responses: an agent's tool loop makes one response per tool call, so chains of hundreds are ordinary.
 * 32 MiB: the conversation goes upstream in one request, and Anthropic's request limit is 32 MB (OpenAI's and
 * Gemini's are lower or equal per request on most models), so a longer one would be refused there anyway.
 */
export const DEFAULT_CONVERSATION_LIMITS: ConversationLimits = {
  maxResponses: 1_000,
  maxBytes: 32 * 1024 * 1024,
  prefetch: 16,
};

/** A conversation rebuilt from stored responses, oldest first. */
export interface Conversation {
  /** The chain's response ids, oldest first; the last is the one named. */
  readonly ids: readonly string[];
  /** Each response's input items, then its output items. */
  readonly items: readonly Json[];
  /** UTF-8 bytes of the items' JSON (what {@link ConversationLimits.maxBytes} bounds). */
  readonly bytes: number;
}

/** The chain is longer than the bound: the client must start over with the items as `input`. */
function tooLong(id: string, max: number): InvalidRequestError {
  return new InvalidRequestError({
    code: 'conversation_too_long',
    param: 'previous_response_id',
    message:
      `The conversation of previous response '${shown(id)}' has more than ${max} responses. ` +
      'Start a new one: send the items you need as input, without previous_response_id.',
  });
}

function tooLarge(id: string, max: number): InvalidRequestError {
  return new InvalidRequestError({
    code: 'conversation_too_large',
    param: 'previous_response_id',
    message:
      `The conversation of previous response '${shown(id)}' is larger than ${max} bytes. ` +
      'Start a new one: send the items you need as input, without previous_response_id.',
  });
}

/** UTF-8 bytes of a stored response's items (what {@link ConversationLimits.maxBytes} counts). */
export const itemBytes = (r: StoredResponse): number =>
  Buffer.byteLength(JSON.stringify(r.input), 'utf8') + Buffer.byteLength(JSON.stringify(r.output), 'utf8');

/**
 * The items of the conversation that `id` ends: the chain of `previous_response_id` links walked back to its
 * start, then given oldest first (each response's input items, then its output items). Every response of the
 * chain must be there, unexpired and `keyId`'s, else {@link PreviousResponseNotFoundError} (naming `id`, never
 * an earlier id); a chain past `limits` is a 400 (`conversation_too_long` / `conversation_too_large`).
 *
 * The walk follows the links one by one, and reads ahead the ids each response lists as its ancestors, at most
 * `limits.prefetch` at a time: a wrong hint costs a read, never a wrong answer.
 */
export async function conversationOf(
  store: ResponseStore,
  id: string,
  keyId: string,
  limits: ConversationLimits = DEFAULT_CONVERSATION_LIMITS,
  signal?: AbortSignal,
): Promise<Conversation> {
  if (!isResponseId(id)) throw new PreviousResponseNotFoundError(id);
  const reads = new Map<string, Promise<StoredResponse | undefined>>();
  const read = (rid: string): Promise<StoredResponse | undefined> => {
    let p = reads.get(rid);
    if (p === undefined) {
      p = store.get(rid, { keyId, signal });
      // A read ahead that the walk never reaches (it failed first) must not be an unhandled rejection.
      p.catch(() => {});
      reads.set(rid, p);
    }
    return p;
  };
  const chain: StoredResponse[] = []; // newest first
  const seen = new Set<string>();
  let bytes = 0;
  let hints: readonly string[] = []; // the ids expected next, newest first
  let next: string | undefined = id;
  while (next !== undefined) {
    if (chain.length >= limits.maxResponses) throw tooLong(id, limits.maxResponses);
    // A link back to a response already in the chain cannot come from newStoredResponse: the chain is broken.
    if (seen.has(next) || !isResponseId(next)) throw new PreviousResponseNotFoundError(id);
    for (const h of hints.slice(0, limits.prefetch)) if (isResponseId(h) && !seen.has(h)) read(h);
    const r = await read(next);
    reads.delete(next);
    if (r === undefined || r.id !== next || r.keyId !== keyId) throw new PreviousResponseNotFoundError(id);
    seen.add(next);
    bytes += itemBytes(r);
    if (bytes > limits.maxBytes) throw tooLarge(id, limits.maxBytes);
    chain.push(r);
    // Its own hints when it has them; else what is left of the last ones (whose first was this response).
    if (r.ancestors !== undefined && r.ancestors.length > 0) hints = [...r.ancestors].reverse();
    else hints = hints[0] === r.id ? hints.slice(1) : [];
    next = r.previousResponseId;
  }
  chain.reverse();
  return { ids: chain.map((r) => r.id), items: chain.flatMap((r) => [...r.input, ...r.output]), bytes };
}

/** What the pipeline knows of a response it is about to store. */
export interface NewResponse {
  readonly id: string;
  readonly keyId: string;
  readonly route: string;
  /** Epoch seconds: the Response's `created_at`. */
  readonly createdAt: number;
  /** How long it is kept ({@link DEFAULT_RESPONSES_TTL_DAYS} unless the host says otherwise). */
  readonly ttlDays: number;
  /** The request's own input items (its `input` as items: a string input is one user message). */
  readonly input: readonly Json[];
  readonly output: readonly Json[];
  readonly response: Json;
  /** The conversation it continues (its ids, oldest first: from {@link conversationOf}), when it has one. */
  readonly previous?: Pick<Conversation, 'ids'>;
  readonly servedBy?: ServedBy;
}

/** The record to `put`: expiry from the TTL, and the link and read-ahead hints from the conversation it continues. */
export function newStoredResponse(n: NewResponse): StoredResponse {
  const last = n.previous?.ids.at(-1);
  return {
    id: n.id,
    keyId: n.keyId,
    route: n.route,
    createdAt: n.createdAt,
    expiresAt: n.createdAt + Math.round(n.ttlDays * 86_400),
    input: n.input,
    output: n.output,
    response: n.response,
    ...(n.servedBy === undefined ? {} : { servedBy: n.servedBy }),
    ...(last === undefined || n.previous === undefined
      ? {}
      : { previousResponseId: last, ancestors: n.previous.ids.slice(-ANCESTOR_HINTS) }),
  };
}
