/**
 * `GET` and `DELETE /v1/responses/{id}`: a stored response, read or removed by the client key that made it
 * (another key's, an expired or a missing one are the same 404 `response_not_found`, so a key learns nothing
 * of another's ids). GET answers the Response object as it was returned; DELETE answers OpenAI's deletion
 * object. Only the gateway's copy is removed: a provider that served the response natively keeps its own
 * under its retention (the README says so).
 * https://platform.openai.com/docs/api-reference/responses/get
 */
import type { GatewayResponse } from '../http.ts';
import type { Principal } from '../ports.ts';
import { ownedResponse, ResponseNotFoundError, type ResponseStore } from '../stores/response-store.ts';
import { ClientGoneReason } from '../upstream/reasons.ts';
import { json, type RequestScope } from './scope.ts';

export async function storedResponse(
  store: ResponseStore | undefined,
  scope: RequestScope,
  principal: Principal,
  id: string,
): Promise<GatewayResponse> {
  if (store === undefined) throw new ResponseNotFoundError(id);
  const signal = scope.req.signal;
  const stored = await ownedResponse(store, id, principal.keyId, signal).catch((err: unknown) => {
    // The read was abandoned because the client left (the SDK's AbortError, a DOMException): a 499, not a 500.
    throw signal?.aborted === true ? new ClientGoneReason() : err;
  });
  scope.summary.route = stored.route;
  if (scope.req.method === 'DELETE') {
    // Gone between the read and the delete (expired, or another delete won): the same 404.
    if (!(await store.delete(stored.id))) throw new ResponseNotFoundError(id);
    scope.finish(200);
    return json(200, scope.requestId, { id: stored.id, object: 'response', deleted: true });
  }
  scope.finish(200);
  return json(200, scope.requestId, stored.response);
}
