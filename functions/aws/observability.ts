/**
 * Powertools adapters of the core's Logger and Metrics ports. The core logs one summary line per request
 * (never a prompt, a header or a key); metrics go out as CloudWatch EMF in namespace `Switchyard` with the
 * few dimensions DESIGN.md allows (Route, Provider; ErrorCode on Errors only), and each request metric once
 * more by Endpoint alone.
 *
 * Why a second dimension set and not a third dimension: a metric's identity is its name plus its exact
 * dimension names, so adding Endpoint to {service, Route, Provider} would start new series and leave every
 * SEARCH schema of the dashboard (lib/monitoring.ts) matching nothing. A p99 per endpoint can also not be
 * computed from per-route percentiles. So the same EMF line lists two dimension sets — {service, Route,
 * Provider} as before and {service, Endpoint} — and CloudWatch files every metric of the line under both:
 * still one line per request (plus one for an error), at the price of one series per metric and endpoint in
 * use (at most 4 endpoints × the request metrics). The gateway's own paths (health, models, unknown URLs)
 * have no endpoint and get no second set.
 */
import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { ReconcileMetrics } from '../core/billing/reconcile.ts';
import type { Report } from '../core/billing/report.ts';
import type { Logger, Metrics, RequestSummary } from '../core/ports.ts';
import type { HealthEvent } from '../core/routing/health.ts';

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
      const byEndpoint = s.endpoint === undefined ? undefined : { Endpoint: s.endpoint };
      // Stored metrics share the dimension sets added before publishing; one EMF line per request. Each
      // addDimensions call is a set of its own (powertools ^2.36, as pinned), the service joining each.
      metrics.addDimensions(dims);
      if (byEndpoint !== undefined) metrics.addDimensions(byEndpoint);
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
      if (s.cachedInputTokens !== undefined)
        metrics.addMetric('CacheReadTokens', MetricUnit.Count, s.cachedInputTokens);
      if (s.cacheWriteTokens !== undefined)
        metrics.addMetric('CacheWriteTokens', MetricUnit.Count, s.cacheWriteTokens);
      if (s.costUsd !== undefined) metrics.addMetric('CostUSD', MetricUnit.NoUnit, s.costUsd);
      if (s.unpriced === true) metrics.addMetric('UnpricedRequests', MetricUnit.Count, 1);
      if (s.implausibleUsage === true) metrics.addMetric('ImplausibleUsage', MetricUnit.Count, 1);
      if (s.lastTarget === true) metrics.addMetric('LastTargetServed', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      if (s.lastTarget === true) {
        // Once more with the service dimension alone: the alarm's fixed series (lib/monitoring.ts).
        metrics.singleMetric().addMetric('LastTargetServed', MetricUnit.Count, 1);
      }
      if (s.errorCode !== undefined) {
        // Errors carry one more dimension, so they go out as a single metric (published on add).
        const errors = metrics.singleMetric();
        errors.addDimensions({ ...dims, ErrorCode: s.errorCode });
        if (byEndpoint !== undefined) errors.addDimensions(byEndpoint);
        errors.addMetric('Errors', MetricUnit.Count, 1);
      }
    },
    breaker(e: HealthEvent) {
      // One line per transition (a few per outage), per target: 1 when its breaker opens, 0 when it closes,
      // so the dashboard's Maximum shows which targets were skipped and when.
      const line = metrics.singleMetric();
      line.addDimensions({ Provider: e.provider, Target: e.target });
      line.addMetric('TargetBreakerOpen', MetricUnit.Count, e.state === 'open' ? 1 : 0);
    },
  };
}

/**
 * The reconciler's metrics: per provider `BillingDriftPercent` (full days only: a running day's bill is still
 * growing) and `ProviderBalance`; per run, with only the service dimension (what the alarms watch, since the
 * provider set is config, not stack), `BillingDriftPercent` as the largest absolute drift of the run,
 * `BillingDrifts` (reports whose verdict is drift) and `LowBalanceProviders`.
 */
export function powertoolsReconcileMetrics(metrics: PowertoolsMetrics): ReconcileMetrics & { flush(): void } {
  let largest = 0;
  let drifts = 0;
  let low = 0;
  let full = 0;
  const perProvider = (provider: string, name: string, value: number) => {
    const m = metrics.singleMetric();
    m.addDimensions({ Provider: provider });
    m.addMetric(name, MetricUnit.NoUnit, value);
  };
  return {
    report(r: Report) {
      // Only comparisons that could be judged (ok / drift) feed the drift series and its alarm.
      if (r.partial || r.driftPercent === undefined) return;
      if (r.verdict !== 'ok' && r.verdict !== 'drift') return;
      full++;
      perProvider(r.provider, 'BillingDriftPercent', r.driftPercent);
      largest = Math.max(largest, Math.abs(r.driftPercent));
      if (r.verdict === 'drift') drifts++;
    },
    balance(provider, balance, isLow) {
      perProvider(provider, 'ProviderBalance', balance.amount);
      if (isLow) low++;
    },
    flush() {
      if (full > 0) metrics.addMetric('BillingDriftPercent', MetricUnit.NoUnit, largest);
      metrics.addMetric('BillingDrifts', MetricUnit.Count, drifts);
      metrics.addMetric('LowBalanceProviders', MetricUnit.Count, low);
      metrics.publishStoredMetrics();
      largest = 0;
      drifts = 0;
      low = 0;
      full = 0;
    },
  };
}
