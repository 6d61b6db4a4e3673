/**
 * Dashboard and alarms. Request metrics come from the gateway's EMF (namespace `Switchyard`, dimensions
 * service/Route/Provider), graphed with SEARCH so every route and provider shows up without listing them.
 * Each EMF line also files its metrics under service/Endpoint (functions/aws/observability.ts: a second
 * dimension set, so the per-route series above are the same series as before); the endpoint row searches
 * that set — one line per client API, with a true p99 per endpoint.
 * Everything is keyed to this stack: the EMF `service` is the stack's name (lib/gateway-function.ts), the
 * REST API is named after the stack, and the Lambda metrics use the function's generated name — so two stacks
 * in one account never graph or alarm on each other's traffic.
 * Alarms need fixed metrics, so they use the metrics Lambda, the function URL and API Gateway publish for the
 * whole function: 5xx rate, p99 duration, throttles, and concurrency near the account limit; and the
 * reconciler's `BillingDriftPercent` with only the `service` dimension, which it emits as the largest absolute
 * drift over all providers of a run (the per-provider series carries a `Provider` dimension as well).
 */
import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface MonitoringProps {
  readonly gateway: IFunction;
  /** The ledger fold function (the usage stream's consumer): its iterator age shows how far behind it is. */
  readonly ledgerFold?: IFunction;
  /** The EMF `service` dimension of this stack's functions (their POWERTOOLS_SERVICE_NAME). */
  readonly service: string;
  readonly api: RestApi;
  /** Where alarms are sent; no subscription when absent (the topic is still there to subscribe to). */
  readonly alarmEmail?: string;
  /** Alarm when the gateway's concurrency passes this (the account limit is 1,000 by default). */
  readonly concurrencyAlarmAt?: number;
  /** Alarm when p99 duration of non-stream and stream requests passes this many milliseconds. */
  readonly p99DurationAlarmMs?: number;
  /** Alarm when more than this percentage of requests end in a 5xx (over at least 20 requests). Default 5. */
  readonly errorRateAlarmPercent?: number;
  /** Alarm when the reconciler finds the ledger and a provider's bill this many percent apart. Default 2. */
  readonly driftTolerancePercent?: number;
}

/** Fewer requests than this in a period never raise the 5xx-rate alarm: 1 failure of 2 is not an outage. */
const MIN_REQUESTS_FOR_RATE = 20;

const PERIOD = Duration.minutes(5);
/** The ledger fold's stream iterator age past which it alarms (ms): normal is about a second. */
const FOLD_BEHIND_ALARM_MS = 300_000;

/** A SEARCH over one service's EMF metric with these dimensions, one line per dimension value. */
function search(
  service: string,
  dims: string,
  metric: string,
  stat: string,
  period: Duration,
  label: string,
) {
  return new MathExpression({
    expression: `SEARCH('{Switchyard,service,${dims}} service="${service}" MetricName="${metric}"', '${stat}', ${period.toSeconds()})`,
    label,
    period,
  });
}

export class Monitoring extends Construct {
  public readonly topic: Topic;
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Alarms', { displayName: `${props.service} alarms`, enforceSSL: true });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const fn = props.gateway;
    const byRoute = (metric: string, stat: string, label: string) =>
      search(props.service, 'Route,Provider', metric, stat, PERIOD, label);
    const byEndpoint = (metric: string, stat: string, label: string) =>
      search(props.service, 'Endpoint', metric, stat, PERIOD, label);
    const byProvider = (metric: string, stat: string, label: string) =>
      search(props.service, 'Provider', metric, stat, Duration.hours(1), label);
    const lambda = (metricName: string, statistic: string) =>
      new Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap: { FunctionName: fn.functionName },
        statistic,
        period: PERIOD,
      });

    const graph = (title: string, left: (Metric | MathExpression)[], right: Metric[] = []) =>
      new GraphWidget({ title, left, right, width: 8 });
    const percentiles = (metric: string, stats: string[]) => stats.map((stat) => byRoute(metric, stat, stat));
    const errorsByCode = search(props.service, 'Route,Provider,ErrorCode', 'Errors', 'Sum', PERIOD, 'errors');
    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          graph('Requests', [byRoute('Requests', 'Sum', 'requests')]),
          graph('Errors by code', [errorsByCode]),
          graph('Latency p50 / p90 / p99 (ms)', percentiles('Latency', ['p50', 'p90', 'p99'])),
        ],
        [
          graph('Requests by endpoint', [byEndpoint('Requests', 'Sum', 'requests')]),
          graph('Errors by endpoint', [byEndpoint('Errors', 'Sum', 'errors')]),
          graph('Latency p99 by endpoint (ms)', [byEndpoint('Latency', 'p99', 'p99')]),
        ],
        [
          graph('Time to first token p50 / p99 (ms)', percentiles('TimeToFirstToken', ['p50', 'p99'])),
          graph('Gateway overhead p50 / p99 (ms)', percentiles('GatewayOverhead', ['p50', 'p99'])),
          graph('Retries and fallbacks', [
            byRoute('Retries', 'Sum', 'retries'),
            byRoute('Fallbacks', 'Sum', 'fallbacks'),
          ]),
        ],
        [
          graph('Tokens in / out, prompt cache read / write', [
            byRoute('InputTokens', 'Sum', 'in'),
            byRoute('OutputTokens', 'Sum', 'out'),
            byRoute('CacheReadTokens', 'Sum', 'cache read'),
            byRoute('CacheWriteTokens', 'Sum', 'cache write'),
          ]),
          graph('Cost (USD) by route and provider', [byRoute('CostUSD', 'Sum', 'cost')]),
          graph('Billing drift (%) by provider', [byProvider('BillingDriftPercent', 'Maximum', 'drift')]),
          graph("Provider balance (in the bill's currency)", [
            byProvider('ProviderBalance', 'Minimum', 'balance'),
          ]),
        ],
        [
          graph('Target health: breaker open (1) / closed (0)', [
            search(props.service, 'Provider,Target', 'TargetBreakerOpen', 'Maximum', PERIOD, 'breaker'),
          ]),
          graph("Served by the route's last target", [byRoute('LastTargetServed', 'Sum', 'last target')]),
        ],
        [
          graph(
            'Lambda concurrency and throttles',
            [lambda('ConcurrentExecutions', 'Maximum')],
            [lambda('Throttles', 'Sum')],
          ),
          graph('Lambda duration p99 (ms)', [lambda('Duration', 'p99')]),
        ],
      ],
    });

    const alarm = (id: string, metric: Metric | MathExpression, threshold: number, description: string) => {
      const a = new Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(new SnsAction(this.topic));
      return a;
    };
    alarm(
      'Throttles',
      lambda('Throttles', 'Sum'),
      0,
      'The gateway function was throttled: requests were refused.',
    );
    alarm(
      'Concurrency',
      lambda('ConcurrentExecutions', 'Maximum'),
      props.concurrencyAlarmAt ?? 800,
      'Gateway concurrency is near the account limit (1,000 by default); streams hold an instance each.',
    );
    alarm(
      'P99Duration',
      lambda('Duration', 'p99'),
      props.p99DurationAlarmMs ?? 120_000,
      'Gateway p99 duration is high.',
    );
    if (props.ledgerFold !== undefined) {
      alarm(
        'LedgerFoldBehind',
        props.ledgerFold.metric('IteratorAge', { statistic: 'Maximum', period: PERIOD }),
        FOLD_BEHIND_ALARM_MS,
        'The ledger fold is more than 5 minutes behind the usage stream: aggregates (usage, reconciliation) ' +
          'lag, and records older than 24 h would leave the stream unfolded.',
      );
    }
    const ratePct = props.errorRateAlarmPercent ?? 5;
    const rate = (errors: Metric, requests: Metric, label: string) =>
      new MathExpression({
        expression: `IF(r >= ${MIN_REQUESTS_FOR_RATE}, 100 * e / r, 0)`,
        usingMetrics: { e: errors, r: requests },
        label,
        period: PERIOD,
      });
    alarm(
      'Api5xxRate',
      rate(
        props.api.metricServerError({ period: PERIOD, statistic: 'Sum' }),
        props.api.metricCount({ period: PERIOD, statistic: 'Sum' }),
        'REST API 5xx %',
      ),
      ratePct,
      `More than ${ratePct}% of REST API requests answered 5xx (upstream failures or gateway errors).`,
    );
    alarm(
      'Url5xxRate',
      rate(lambda('Url5xxCount', 'Sum'), lambda('UrlRequestCount', 'Sum'), 'function URL 5xx %'),
      ratePct,
      `More than ${ratePct}% of function URL requests answered 5xx.`,
    );
    // Requests a route served from its last target, every other one failed or skipped for its health (the
    // gateway files the count once more with only the service dimension, for this alarm).
    alarm(
      'LastTargetServed',
      new Metric({
        namespace: 'Switchyard',
        metricName: 'LastTargetServed',
        dimensionsMap: { service: props.service },
        statistic: 'Sum',
        period: PERIOD,
      }),
      0,
      "A route is serving from its last target: every other target failed or has its breaker open (see the dashboard's target health).",
    );
    const drift = props.driftTolerancePercent ?? 2;
    // The reconciler's per-run counts (service dimension only: the provider set is config, not stack).
    const anyInRun = (id: string, metricName: string, alarmDescription: string) =>
      new Alarm(this, id, {
        metric: new Metric({
          namespace: 'Switchyard',
          metricName,
          dimensionsMap: { service: props.service },
          statistic: 'Maximum',
          period: Duration.hours(1),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription,
      }).addAlarmAction(new SnsAction(this.topic));
    // On the verdicts, not on a percent: a day is drift when its provider's tolerance (billing.tolerancePercent,
    // else this one, which the reconciler gets too) says so — half a cent of rounding never fires it.
    anyInRun(
      'BillingDrift',
      'BillingDrifts',
      `The reconciler found the usage ledger and a provider's bill more than ${drift}% apart.`,
    );
    anyInRun(
      'LowProviderBalance',
      'LowBalanceProviders',
      "A provider's balance is below its billing.lowBalance: top it up before requests start failing.",
    );
  }
}
