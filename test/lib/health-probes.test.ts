/**
 * Active health probes on AWS: the schedule that invokes the gateway function with the probe event, only when
 * the stack is asked for one (the template alone decides it; what the function does with the event is
 * test/aws/handler-health-probes.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { PROBE_EVENT } from '../../functions/core/gateway/probes.ts';
import { resourcesOf, unbundled } from './stack-template.ts';

describe('the health probe schedule', () => {
  it('is absent by default: no rule sends the probe event', () => {
    const rules = JSON.stringify(resourcesOf(unbundled('NoProbes'), 'AWS::Events::Rule'));
    expect(rules).not.toContain(PROBE_EVENT.switchyard);
    expect(
      JSON.stringify(resourcesOf(unbundled('WithProbes', { healthProbeMinutes: 1 }), 'AWS::Events::Rule')),
    ).toContain(PROBE_EVENT.switchyard);
  });

  it('invokes the gateway function with the probe event at the rate asked for, without retries', () => {
    const t = unbundled('Probes', { healthProbeMinutes: 5 });
    const rules = resourcesOf(t, 'AWS::Events::Rule').filter(
      (r) => r.ScheduleExpression === 'rate(5 minutes)',
    );
    expect(rules).toHaveLength(1);
    const [target] = (rules[0]?.Targets ?? []) as { Arn: unknown; Input: string; RetryPolicy?: unknown }[];
    expect(JSON.parse(target?.Input ?? '{}')).toEqual(PROBE_EVENT);
    expect(target?.RetryPolicy).toEqual({ MaximumRetryAttempts: 0 });
    const gateway = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('GatewayFunction'),
    )?.[0];
    expect(target?.Arn).toEqual({ 'Fn::GetAtt': [gateway, 'Arn'] });
    // EventBridge may invoke it.
    const perms = resourcesOf(t, 'AWS::Lambda::Permission').filter(
      (p) => p.Principal === 'events.amazonaws.com',
    );
    expect(perms.some((p) => JSON.stringify(p.FunctionName).includes(gateway ?? '?'))).toBe(true);
  });
});
