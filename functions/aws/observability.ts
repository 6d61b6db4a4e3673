/**
 * Powertools adapters of the core's Logger and Metrics ports. The core logs one summary line per request
 * (never a prompt, a header or a key); metrics go out as CloudWatch EMF in namespace `Switchyard` with the
 * few dimensions DESIGN.md allows (Route, Provider; ErrorCode on Errors only).
 */
import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Logger, Metrics, RequestSummary } from '../core/ports.ts';

export function powertoolsLogger(logger: PowertoolsLogger): Logger {
  return {
    log(level, message, fields) {
      logger[level](message, fields);
    },
  };
}

export function powertoolsMetrics(metrics: PowertoolsMetrics): Metrics {
  return {
    record(s: RequestSummary) {
      const dims = { Route: s.route ?? 'none', Provider: s.provider ?? 'none' };
      // Stored metrics share the dimensions added before publishing; one EMF line per request.
      metrics.addDimensions(dims);
      metrics.addMetric('Requests', MetricUnit.Count, 1);
      metrics.addMetric('Latency', MetricUnit.Milliseconds, s.latencyMs);
      if (s.ttftMs !== undefined) metrics.addMetric('TimeToFirstToken', MetricUnit.Milliseconds, s.ttftMs);
      if (s.upstreamMs !== undefined)
        metrics.addMetric('UpstreamLatency', MetricUnit.Milliseconds, s.upstreamMs);
      if (s.overheadMs !== undefined)
        metrics.addMetric('GatewayOverhead', MetricUnit.Milliseconds, s.overheadMs);
      metrics.addMetric('Retries', MetricUnit.Count, s.retries);
      metrics.addMetric('Fallbacks', MetricUnit.Count, s.fallbacks);
      if (s.inputTokens !== undefined) metrics.addMetric('InputTokens', MetricUnit.Count, s.inputTokens);
      if (s.outputTokens !== undefined) metrics.addMetric('OutputTokens', MetricUnit.Count, s.outputTokens);
      if (s.costUsd !== undefined) metrics.addMetric('CostUSD', MetricUnit.NoUnit, s.costUsd);
      if (s.unpriced === true) metrics.addMetric('UnpricedRequests', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      if (s.errorCode !== undefined) {
        // Errors carry one more dimension, so they go out as a single metric (published on add).
        const errors = metrics.singleMetric();
        errors.addDimensions({ ...dims, ErrorCode: s.errorCode });
        errors.addMetric('Errors', MetricUnit.Count, 1);
      }
    },
  };
}
