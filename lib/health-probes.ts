/**
 * Active health probes on AWS (issue 16, off by default): a schedule invokes the gateway function itself with
 * {@link PROBE_EVENT}, and it probes the targets of routes whose `health.probeEveryMs` is set (the same code
 * as a request: breakers, log line, metrics, ledger record). The schedule's rate bounds how often: a target
 * is probed at most once per rate, and at most once per its own `probeEveryMs` on a warm instance.
 */
import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { PROBE_EVENT } from '../functions/core/gateway/probes.ts';

export interface HealthProbesProps {
  readonly fn: IFunction;
  /** Minutes between probe rounds. */
  readonly everyMinutes: number;
}

export class HealthProbes extends Construct {
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: HealthProbesProps) {
    super(scope, id);
    this.rule = new Rule(this, 'Schedule', {
      description: 'Switchyard active health probes (routes with health.probeEveryMs)',
      schedule: Schedule.rate(Duration.minutes(props.everyMinutes)),
      // One try: a probe round that failed is simply the next round's job.
      targets: [
        new LambdaFunction(props.fn, { event: RuleTargetInput.fromObject(PROBE_EVENT), retryAttempts: 0 }),
      ],
    });
  }
}
