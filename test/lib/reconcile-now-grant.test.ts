/**
 * The admin API's run-now on AWS, in the template: the gateway function knows the reconciler's name and may
 * invoke that function — and nothing else — while the reconciler may invoke nothing.
 */
import { describe, expect, it } from 'vitest';
import { envOf, resourcesOf, unbundled } from './stack-template.ts';

type Statement = { Action: string | string[]; Resource: unknown };

describe('SwitchyardStack: the reconciler run now', () => {
  const t = unbundled('RunNow');
  const functions = Object.keys(t.findResources('AWS::Lambda::Function'));
  const reconciler = functions.filter((id) => id.startsWith('ReconcilerFunction'));
  const invokesOf = (rolePrefix: string): Statement[] =>
    (
      resourcesOf(t, 'AWS::IAM::Policy') as {
        PolicyDocument: { Statement: Statement[] };
        Roles: { Ref: string }[];
      }[]
    )
      .filter((p) => p.Roles.some((r) => r.Ref.startsWith(rolePrefix)))
      .flatMap((p) => p.PolicyDocument.Statement)
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('lambda:')));

  it("gives the gateway the reconciler function's name (SWITCHYARD_RECONCILER_FUNCTION)", () => {
    expect(reconciler).toHaveLength(1);
    const gateway = envOf(t).filter((e) => e.SWITCHYARD_RESPONSES_TABLE !== undefined);
    expect(gateway).toHaveLength(1);
    expect(gateway[0]?.SWITCHYARD_RECONCILER_FUNCTION).toEqual({ Ref: reconciler[0] });
    // The reconciler is told nothing of it.
    const others = envOf(t).filter((e) => e.SWITCHYARD_RESPONSES_TABLE === undefined);
    expect(others.map((e) => e.SWITCHYARD_RECONCILER_FUNCTION)).toEqual(others.map(() => undefined));
  });

  it('grants the gateway lambda:InvokeFunction on the reconciler alone (no version wildcard); the reconciler none', () => {
    expect(invokesOf('GatewayFunction')).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [reconciler[0], 'Arn'] },
      },
    ]);
    expect(invokesOf('ReconcilerFunction')).toEqual([]);
  });
});
