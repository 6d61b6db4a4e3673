/**
 * CDK app entry. Context is parsed with zod once, here, and cdk-nag checks every synth.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { z } from 'zod';
import { bedrockModelsContext } from '../lib/bedrock-access.ts';
import { SwitchyardStack } from '../lib/switchyard-stack.ts';

const app = new App();
// cdk-nag (AwsSolutions) runs on every synth: an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const context = z
  .object({
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]*$/)
      .default('Switchyard'),
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    alarmEmail: z.string().email().optional(),
    memorySize: z.coerce.number().int().min(128).max(10_240).optional(),
    reservedConcurrency: z.coerce.number().int().min(1).optional(),
    driftTolerancePercent: z.coerce.number().positive().max(100).optional(),
    bedrockModels: bedrockModelsContext,
  })
  .parse({
    stackName: app.node.tryGetContext('stackName') ?? undefined,
    removalPolicy: app.node.tryGetContext('removalPolicy') ?? undefined,
    alarmEmail: app.node.tryGetContext('alarmEmail') ?? undefined,
    memorySize: app.node.tryGetContext('memorySize') ?? undefined,
    reservedConcurrency: app.node.tryGetContext('reservedConcurrency') ?? undefined,
    driftTolerancePercent: app.node.tryGetContext('driftTolerancePercent') ?? undefined,
    bedrockModels: app.node.tryGetContext('bedrockModels') ?? undefined,
  });

new SwitchyardStack(app, context.stackName, {
  removalPolicy: context.removalPolicy,
  ...(context.alarmEmail === undefined ? {} : { alarmEmail: context.alarmEmail }),
  ...(context.memorySize === undefined ? {} : { memorySize: context.memorySize }),
  ...(context.reservedConcurrency === undefined ? {} : { reservedConcurrency: context.reservedConcurrency }),
  ...(context.driftTolerancePercent === undefined
    ? {}
    : { driftTolerancePercent: context.driftTolerancePercent }),
  bedrockModels: context.bedrockModels,
});
