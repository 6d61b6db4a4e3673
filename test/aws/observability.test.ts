/**
 * The EMF the gateway's Metrics port writes: powertools Metrics as the Lambda handler builds it, its stdout
 * captured the way CloudWatch Logs would get it, each document checked for its dimension sets and values.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { powertoolsMetrics } from '../../functions/aws/observability.ts';
import type { RequestSummary } from '../../functions/core/ports.ts';
import { FunctionLogs } from './support/function-env.ts';

const SERVICE = 'Switchyard-test';
let logs: FunctionLogs;

interface Emf {
  readonly _aws: {
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string }[];
    }[];
  };
  readonly [name: string]: unknown;
}

/** The EMF documents written so far (each line CloudWatch would turn into metrics). */
const emf = (): Emf[] => logs.json().filter((l): l is Emf => '_aws' in l);
const dimensionSets = (doc: Emf | undefined) => doc?._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions);
const metricNames = (doc: Emf | undefined) =>
  doc?._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name));

function summary(over: Partial<RequestSummary> = {}): RequestSummary {
  return {
    requestId: 'req-1',
    method: 'POST',
    path: '/v1/messages',
    endpoint: 'messages',
    route: 'claude',
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    status: 200,
    stream: false,
    latencyMs: 120.5,
    upstreamMs: 110,
    overheadMs: 10.5,
    attempts: 1,
    retries: 0,
    fallbacks: 0,
    attemptLog: [],
    inputTokens: 6000,
    outputTokens: 100,
    ...over,
  };
}

beforeEach(() => {
  logs = new FunctionLogs();
  logs.start();
});
afterEach(() => logs.stop());

describe('powertoolsMetrics', () => {
  const port = () => powertoolsMetrics(new Metrics({ namespace: 'Switchyard', serviceName: SERVICE }));

  it('writes one EMF line per request whose metrics go out by route and provider, and by endpoint', () => {
    port().record(summary());
    const docs = emf();
    expect(docs).toHaveLength(1);
    const [doc] = docs;
    expect(doc?._aws.CloudWatchMetrics.map((d) => d.Namespace)).toEqual(['Switchyard']);
    // The per-route set is unchanged (the dashboard's SEARCH schemas and any alarm on it keep matching); the
    // endpoint set is a second set of the same line, not a dimension added to the first.
    expect(dimensionSets(doc)).toEqual([
      ['service', 'Route', 'Provider'],
      ['service', 'Endpoint'],
    ]);
    expect(doc).toMatchObject({
      service: SERVICE,
      Route: 'claude',
      Provider: 'anthropic',
      Endpoint: 'messages',
      Requests: 1,
      Latency: 120.5,
    });
  });

  it('counts an error by route, provider and code, and by endpoint, in one more line', () => {
    port().record(summary({ status: 502, errorCode: 'upstream_server_error' }));
    const docs = emf();
    expect(docs).toHaveLength(2);
    const errors = docs.find((d) => metricNames(d)?.includes('Errors'));
    expect(dimensionSets(errors)).toEqual([
      ['service', 'Route', 'Provider', 'ErrorCode'],
      ['service', 'Endpoint'],
    ]);
    expect(errors).toMatchObject({ Endpoint: 'messages', ErrorCode: 'upstream_server_error', Errors: 1 });
  });

  it("leaves the endpoint set out for the gateway's own paths (health, models, unknown URLs)", () => {
    const { endpoint: _, ...health } = summary({ path: '/health', route: 'none' });
    port().record({ ...health, errorCode: 'unknown_url' });
    for (const doc of emf()) {
      expect(dimensionSets(doc)?.flat()).not.toContain('Endpoint');
      expect(doc).not.toHaveProperty('Endpoint');
    }
  });

  it('sends prompt-cache reads and writes as CacheReadTokens and CacheWriteTokens when there were some', () => {
    port().record(summary({ cachedInputTokens: 3000, cacheWriteTokens: 2000 }));
    port().record(summary());
    const [cached, plain] = emf();
    expect(cached).toMatchObject({ CacheReadTokens: 3000, CacheWriteTokens: 2000, InputTokens: 6000 });
    expect(metricNames(plain)).not.toContain('CacheReadTokens');
    expect(metricNames(plain)).not.toContain('CacheWriteTokens');
  });
});
