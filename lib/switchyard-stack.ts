/** The stack only composes constructs (STYLE.md rule 8). */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { SwitchyardTables } from './tables.ts';

export interface SwitchyardStackProps extends StackProps {
  readonly removalPolicy: 'retain' | 'destroy';
}

export class SwitchyardStack extends Stack {
  public readonly tables: SwitchyardTables;

  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, props);
    this.tables = new SwitchyardTables(this, 'Tables', { removalPolicy: props.removalPolicy });
    new CfnOutput(this, 'ConfigTableName', { value: this.tables.config.tableName });
  }
}
