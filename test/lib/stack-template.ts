/** Synthesizing the stack in the template tests, and reading what the template holds. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SwitchyardStack, type SwitchyardStackProps } from '../../lib/switchyard-stack.ts';

/** A stack synthesized without bundling its functions (for what the template alone decides). */
export function unbundled(id: string, props: Partial<SwitchyardStackProps> = {}): Template {
  return Template.fromStack(new SwitchyardStack(quickApp(), id, { removalPolicy: 'destroy', ...props }));
}
export function quickApp(): App {
  // CDK's own switch: bundle no stack's assets (the functions get a placeholder asset).
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}
export type Props = Record<string, unknown>;
export const resourcesOf = (t: Template, type: string): Props[] =>
  Object.values(t.findResources(type)).map((r) => (r as { Properties: Props }).Properties);
export const envOf = (t: Template): Record<string, string>[] =>
  resourcesOf(t, 'AWS::Lambda::Function').map(
    (p) => (p.Environment as { Variables: Record<string, string> }).Variables,
  );

export interface DashboardWidget {
  readonly y: number;
  readonly properties: { readonly title?: string; readonly metrics?: unknown[][] };
}

/** The dashboard's widgets, its body's tokens (the region, say) joined in as plain text. */
export function dashboardWidgets(t: Template): DashboardWidget[] {
  const [dashboard] = resourcesOf(t, 'AWS::CloudWatch::Dashboard');
  const body = dashboard?.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return (JSON.parse(text) as { widgets: DashboardWidget[] }).widgets;
}

/** The math expressions a graph draws (its SEARCHes). */
export const expressionsOf = (w: DashboardWidget): string[] =>
  (w.properties.metrics ?? []).flatMap((m) =>
    m.flatMap((x) =>
      typeof x === 'object' && x !== null && 'expression' in x ? [String(x.expression)] : [],
    ),
  );
