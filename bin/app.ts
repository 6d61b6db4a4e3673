/**
 * CDK app entry. Context is parsed with zod once (lib/context.ts), and cdk-nag checks every synth.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readStackContext } from '../lib/context.ts';
import { SwitchyardStack } from '../lib/switchyard-stack.ts';

const app = new App();
// cdk-nag (AwsSolutions) runs on every synth: an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const { stackName, ...props } = readStackContext(app);
new SwitchyardStack(app, stackName, {
  removalPolicy: props.removalPolicy,
  ...(props.alarmEmail === undefined ? {} : { alarmEmail: props.alarmEmail }),
  ...(props.memorySize === undefined ? {} : { memorySize: props.memorySize }),
  ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrency: props.reservedConcurrency }),
  ...(props.driftTolerancePercent === undefined
    ? {}
    : { driftTolerancePercent: props.driftTolerancePercent }),
  bedrockModels: props.bedrockModels,
  publicFunctionUrl: props.publicFunctionUrl,
  usageShards: props.usageShards,
  responsesTtlDays: props.responsesTtlDays,
  ...(props.orgName === undefined ? {} : { orgName: props.orgName }),
  ...(props.healthProbeMinutes === undefined ? {} : { healthProbeMinutes: props.healthProbeMinutes }),
});
