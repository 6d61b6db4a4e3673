/**
 * The gateway's secret: `{"_master": <generated>, "<provider id>": "key" | ["k1", "k2"]}`. CloudFormation
 * generates the master key; provider keys are added by the operator (README, "Deploy").
 */
import { type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export class GatewaySecret extends Construct {
  public readonly secret: Secret;

  constructor(scope: Construct, id: string, props: { readonly removalPolicy: RemovalPolicy }) {
    super(scope, id);
    this.secret = new Secret(this, 'Keys', {
      description: 'Switchyard: master client key (_master) and provider API keys by provider id',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: '_master',
        excludePunctuation: true,
        passwordLength: 48,
      },
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'It holds third-party provider API keys, which only their providers can rotate; the function re-reads the secret within its cache TTL, so a key the operator rotates by hand is picked up without a deploy.',
    });
  }
}
