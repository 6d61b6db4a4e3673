/**
 * The synthesized template's watch over the gateway: the dashboard, the alarms and where they go, the
 * reconciler's schedules and its drift tolerance (split from stack.test.ts; the functions are not bundled).
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DashboardWidget, dashboardWidgets, expressionsOf, unbundled } from './stack-template.ts';

let template: Template;

beforeAll(() => {
  template = unbundled('Test');
}, 60_000);

describe('SwitchyardStack: dashboard, alarms and schedules', () => {
  it('alarms on a provider balance below its threshold', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'LowBalanceProviders',
      Namespace: 'Switchyard',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('schedules the reconciler hourly (incremental) and daily (full run of the previous UTC day)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ mode: 'incremental' }) })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(15 1 * * ? *)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ mode: 'daily' }) })],
    });
    // Gateway and reconciler each have their own role.
    expect(Object.keys(template.findResources('AWS::IAM::Role')).length).toBeGreaterThanOrEqual(2);
  });

  it('has a dashboard over the EMF metrics by route and provider, and the Lambda metrics', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values(dashboards)[0]);
    for (const metric of [
      'Requests',
      'Errors',
      'Latency',
      'TimeToFirstToken',
      'GatewayOverhead',
      'Retries',
      'Fallbacks',
      'InputTokens',
      'OutputTokens',
      'CostUSD',
      'BillingDriftPercent',
    ]) {
      expect(body).toMatch(new RegExp(`MetricName=\\W+${metric}\\W`));
    }
    expect(body).toContain('ConcurrentExecutions');
    expect(body).toContain('Throttles');
  });

  it('has a row with requests, errors and p99 latency per endpoint, and graphs prompt-cache tokens', () => {
    const widgets = dashboardWidgets(unbundled('Endpoints'));
    const search = (dims: string, metric: string, stat: string) =>
      `SEARCH('{Switchyard,service,${dims}} service="Endpoints" MetricName="${metric}"', '${stat}', 300)`;
    const row = ['Requests by endpoint', 'Errors by endpoint', 'Latency p99 by endpoint (ms)'].map(
      (title) => {
        const w = widgets.find((x) => x.properties.title === title);
        expect(w, title).toBeDefined();
        return w as DashboardWidget;
      },
    );
    expect(row.map(expressionsOf)).toEqual([
      [search('Endpoint', 'Requests', 'Sum')],
      [search('Endpoint', 'Errors', 'Sum')],
      [search('Endpoint', 'Latency', 'p99')],
    ]);
    // One row: the same height on the grid, side by side.
    expect(new Set(row.map((w) => w.y)).size).toBe(1);
    const tokens = widgets.flatMap(expressionsOf);
    expect(tokens).toContain(search('Route,Provider', 'CacheReadTokens', 'Sum'));
    expect(tokens).toContain(search('Route,Provider', 'CacheWriteTokens', 'Sum'));
    // The per-route graphs still search the per-route set, which the Endpoint set left as it was.
    expect(tokens).toContain(search('Route,Provider', 'Requests', 'Sum'));
  });

  it('sends alarms on throttles, concurrency, p99 duration, 5xx rate and billing drift to an SNS topic', () => {
    interface AlarmProps {
      MetricName?: string;
      Namespace?: string;
      Threshold: number;
      AlarmActions: unknown[];
      Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string } } }[];
    }
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: AlarmProps;
    }[];
    const byMetric = new Map(alarms.map((a) => [a.Properties.MetricName, a.Properties]));
    expect(byMetric.get('Throttles')?.Threshold).toBe(0);
    expect(byMetric.get('ConcurrentExecutions')?.Threshold).toBe(800);
    expect(byMetric.has('Duration')).toBe(true);
    // The drift alarm follows the reconciler's verdicts (each provider's own tolerance), not a raw percent.
    const drift = byMetric.get('BillingDrifts');
    expect(drift?.Namespace).toBe('Switchyard');
    expect(drift?.Threshold).toBe(1);
    // 5xx alarms are rates over a minimum volume, for the REST API and the function URL.
    const rates = alarms
      .map((a) => a.Properties)
      .filter((p) => p.Metrics?.some((m) => m.Expression?.includes('100 * e / r')));
    expect(rates.map((p) => p.Threshold)).toEqual([5, 5]);
    const inputs = rates.map((p) =>
      (p.Metrics ?? [])
        .flatMap((m) => (m.MetricStat === undefined ? [] : [m.MetricStat.Metric.MetricName]))
        .sort(),
    );
    expect(inputs).toEqual(
      expect.arrayContaining([
        ['5XXError', 'Count'],
        ['Url5xxCount', 'UrlRequestCount'],
      ]),
    );
    for (const a of alarms) expect(JSON.stringify(a.Properties.AlarmActions)).toContain('Alarms');
    template.resourceCountIs('AWS::SNS::Topic', 1);
  });

  it('takes the drift tolerance as a prop: the reconciler judges by it unless a provider sets its own', () => {
    const t = unbundled('Drift', { driftTolerancePercent: 0.5 });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SWITCHYARD_DRIFT_TOLERANCE_PERCENT: '0.5' }) },
    });
    t.hasOutput('DriftTolerancePercent', { Value: '0.5' });
  });
});
