/**
 * The two ways an endpoint calls a target, in one place: natively, the client's bytes edited (when the target's
 * provider speaks the endpoint's API: its adapter's `forward`), or through the adapter's own dialect
 * (`buildCall`: a translated body). Every spec asks both the same questions of the target.
 */
import type { HeaderMap } from '../http.ts';
import type { Json } from '../json.ts';
import type { Operation, UpstreamCall } from '../providers/types.ts';
import type { TargetInput } from './spec.ts';
import type { EndpointId } from './types.ts';

/** What is forwarded: the body as text (the client's, or one the gateway wrote) and parsed, and its stream flag. */
export interface ForwardBody {
  readonly text: string;
  readonly json: Json;
  readonly stream: boolean;
}

/** The target's native call for a body of `endpoint`; undefined when its provider does not serve that API. */
export function forwardTo(
  t: TargetInput,
  endpoint: EndpointId,
  body: ForwardBody,
  clientHeaders: HeaderMap,
): UpstreamCall | undefined {
  return t.adapter.forward?.({
    endpoint,
    ...body,
    model: t.model,
    apiKey: t.apiKey,
    requestId: t.requestId,
    extraHeaders: t.provider.headers,
    provider: t.provider,
    clientHeaders,
  });
}

/** The call through the target's adapter: the body put into its provider's dialect. */
export function buildFor(t: TargetInput, op: Operation, body: Json): UpstreamCall {
  return t.adapter.buildCall({
    op,
    body,
    model: t.model,
    apiKey: t.apiKey,
    requestId: t.requestId,
    extraHeaders: t.provider.headers,
    provider: t.provider,
    epochMs: t.epochMs,
  });
}
