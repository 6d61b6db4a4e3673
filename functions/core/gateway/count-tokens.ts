/**
 * `POST /v1/messages/count_tokens` (https://docs.anthropic.com/en/api/messages-count-tokens): the input tokens
 * of a Messages request, as Claude Code asks before it sends one. Native when the route has an `anthropic`
 * target — the first one in route order is asked, once (no retry, no fallback: a count is advice, not an
 * answer) — else, or when that ask fails, the gateway's estimate (the same tokenizer as its usage estimates).
 * `x-switchyard-token-count: native | estimate` says which. Free upstream, so no budget hold and no ledger
 * record; but it takes one token of the key's rpm (a count costs the provider's rate limit and the gateway's
 * work, and a key's rpm bounds all it can make the gateway do), and the native ask is capped at
 * {@link NATIVE_COUNT_MS} (a count that takes longer is no use to a client about to send). Its log line and
 * metrics are made as for any request.
 */

import { utf8 } from '../bytes.ts';
import { baseUrlsOf, type GatewayConfig, type RouteConfig } from '../config/schema.ts';
import { estimateMessagesTokens } from '../endpoints/messages/count-tokens.ts';
import { countTokensRequestSchema } from '../endpoints/messages/schema.ts';
import { checkAnthropicHeaders } from '../endpoints/messages/spec.ts';
import { ServerShuttingDownError } from '../errors.ts';
import type { GatewayResponse } from '../http.ts';
import { isRecord, own } from '../json.ts';
import { editJson } from '../json-edit.ts';
import type { Principal } from '../ports.ts';
import { countTokensCall } from '../providers/anthropic/adapter.ts';
import { ADAPTERS } from '../providers/registry.ts';
import { parseBody } from '../schemas/openai.ts';
import { type OpenedAttempt, openAttempt } from '../upstream/attempt.ts';
import { ClientGoneReason, TimeoutReason } from '../upstream/reasons.ts';
import { linkAbort } from '../upstream/signals.ts';
import { BYTES_COUNTER } from '../usage/estimate.ts';
import { readJsonBody } from './body.ts';
import { type PipelineDeps, routeFor } from './pipeline.ts';
import { json, type RequestScope } from './scope.ts';

/** The most a native count may take (or the route's total deadline, when shorter); then the estimate answers. */
export const NATIVE_COUNT_MS = 10_000;

/** Asks the route's first Anthropic target; undefined when it has none or the ask failed (logged). */
async function nativeCount(
  d: PipelineDeps,
  scope: RequestScope,
  config: GatewayConfig,
  route: RouteConfig,
  text: string,
  parsed: Record<string, unknown>,
): Promise<{ tokens: number; provider: string } | undefined> {
  const target = route.targets.find((t) => own(config.providers, t.provider)?.type === 'anthropic');
  const provider = target === undefined ? undefined : own(config.providers, target.provider);
  if (target === undefined || provider === undefined) return undefined;
  const controller = new AbortController();
  if (d.stopping()) controller.abort(d.shuttingDown());
  d.inflight.add(controller);
  // The hosts abort the client's signal without a reason of ours: name it, so a client that left ends as 499.
  const unlink = linkAbort(scope.req.signal, controller, () => new ClientGoneReason());
  const capMs = Math.min(route.timeouts.totalMs, NATIVE_COUNT_MS);
  const deadline = setTimeout(() => controller.abort(new TimeoutReason('total', capMs)), capMs);
  const started = d.clock.now();
  scope.stats.attempts++;
  let opened: OpenedAttempt | undefined;
  try {
    const keys = await d.providerKeys.keys(target.provider);
    const call = countTokensCall({
      text: editJson(text, [{ set: 'model', value: target.model }], () => parsed),
      json: parsed,
      model: target.model,
      apiKey: d.state.nextKey(target.provider, keys),
      requestId: scope.requestId,
      extraHeaders: provider.headers,
      provider,
      clientHeaders: scope.req.headers,
    });
    opened = await openAttempt({
      provider: target.provider,
      adapter: ADAPTERS.anthropic,
      secrets: d.secrets,
      transport: d.http,
      baseUrls: baseUrlsOf(provider),
      startIndex: 0,
      call,
      timeouts: {
        ...route.timeouts,
        totalMs: capMs,
        firstByteMs: Math.min(route.timeouts.firstByteMs, capMs),
      },
      requestSignal: controller.signal,
      epochMs: d.clock.epochMs,
      readAll: true,
      maxResponseBytes: 64 * 1024,
    });
    const body: unknown = JSON.parse(utf8.decode(opened.first ?? new Uint8Array()));
    const tokens = isRecord(body) ? body.input_tokens : undefined;
    if (typeof tokens !== 'number' || !Number.isSafeInteger(tokens) || tokens < 0) {
      throw new Error('the answer holds no input_tokens');
    }
    return { tokens, provider: target.provider };
  } catch (err) {
    // The client that left gets no answer: the request ends like every other whose client is gone (499).
    if (controller.signal.reason instanceof ClientGoneReason) throw controller.signal.reason;
    if (controller.signal.reason instanceof ServerShuttingDownError) throw controller.signal.reason;
    d.logger.log('warn', 'count_tokens: native count failed, estimated', {
      requestId: scope.requestId,
      provider: target.provider,
      error: d.secrets.mask(err instanceof Error ? err.message : String(err)).slice(0, 500),
    });
    return undefined;
  } finally {
    opened?.close();
    scope.stats.upstreamMs += d.clock.now() - started;
    clearTimeout(deadline);
    unlink();
    d.inflight.delete(controller);
  }
}

export async function countTokens(
  d: PipelineDeps,
  scope: RequestScope,
  principal: Principal,
  /** Takes one token of the key's rpm (429 when none is left). */
  rate: () => Promise<void>,
): Promise<GatewayResponse> {
  const { text, json: raw } = await readJsonBody(scope.req, d.maxBody);
  const body = parseBody(countTokensRequestSchema, raw);
  checkAnthropicHeaders(scope.req.headers);
  scope.summary.route = body.model;
  const config = await d.routes.load();
  const route = routeFor(config, body.model, principal);
  await rate();
  const native = await nativeCount(d, scope, config, route, text, body);
  const headers: Record<string, string> = { 'request-id': scope.requestId };
  let tokens: number;
  if (native !== undefined) {
    tokens = native.tokens;
    headers['x-switchyard-token-count'] = 'native';
    headers['x-switchyard-provider'] = native.provider;
    scope.summary.provider = native.provider;
  } else {
    tokens = estimateMessagesTokens(d.tokens ?? BYTES_COUNTER, body).input_tokens;
    headers['x-switchyard-token-count'] = 'estimate';
  }
  scope.finish(200);
  return json(200, scope.requestId, { input_tokens: tokens }, headers);
}
