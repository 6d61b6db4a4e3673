/** Path → endpoint spec: the endpoints the gateway proxies. A new endpoint is one spec here. */
import { chatSpec } from './chat/spec.ts';
import { embeddingsSpec } from './embeddings/spec.ts';
import { messagesSpec } from './messages/spec.ts';
import { responsesSpec } from './responses/spec.ts';
import type { EndpointSpec } from './spec.ts';

export const ENDPOINT_SPECS: ReadonlyMap<string, EndpointSpec> = new Map(
  [chatSpec, embeddingsSpec, responsesSpec, messagesSpec].map((s) => [s.path, s]),
);
