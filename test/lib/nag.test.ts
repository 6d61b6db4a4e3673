/** cdk-nag (AwsSolutions): zero unacknowledged findings; each acknowledgement carries its reason in lib/. */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SwitchyardStack } from '../../lib/switchyard-stack.ts';

function synthWithNag(build: (app: App) => void): void {
  const app = new App();
  build(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the Switchyard stack', () => {
    expect(() =>
      synthWithNag(
        (app) => new SwitchyardStack(app, 'Nag', { removalPolicy: 'retain', alarmEmail: 'ops@example.com' }),
      ),
    ).not.toThrow();
  }, 60_000);

  it('does fail a synth on a finding (the check can fail)', () => {
    expect(() =>
      synthWithNag((app) => {
        new Topic(new Stack(app, 'Bad'), 'PlainTopic');
      }),
    ).toThrow(/AwsSolutions-SNS3/);
  });
});
