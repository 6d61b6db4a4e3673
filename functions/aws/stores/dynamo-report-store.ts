/**
 * Reconciliation reports and bill snapshots in DynamoDB (the reports table; locally the same table in the
 * embedded store). A report is rewritten only when it differs from the stored one (a conditional put on its
 * JSON), so running the job twice for the same window changes nothing. Both are parsed with zod on the way
 * back: they are data from outside the process.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  paginateQuery,
} from '@aws-sdk/client-dynamodb';
import type { ReportStore } from '../../core/billing/reconcile.ts';
import { type Report, reportSchema, snapshotSchema } from '../../core/billing/report-schema.ts';
import type { Statement } from '../../core/billing/statement.ts';
import type { Snapshot } from '../../core/billing/types.ts';
import { daysBetween } from '../../core/days.ts';

type Item = Record<string, AttributeValue>;

export class DynamoReportStore implements ReportStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async put(report: Report): Promise<boolean> {
    const doc = JSON.stringify(report);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: { S: `report#${report.day}` }, sk: { S: report.provider }, doc: { S: doc } },
          ConditionExpression: 'attribute_not_exists(pk) OR doc <> :doc',
          ExpressionAttributeValues: { ':doc': { S: doc } },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async get(provider: string, day: string): Promise<Report | undefined> {
    const r = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: `report#${day}` }, sk: { S: provider } },
        ConsistentRead: true,
      }),
    );
    const doc = r.Item?.doc?.S;
    return doc === undefined ? undefined : reportSchema.parse(JSON.parse(doc));
  }

  async list(fromDay: string, toDay: string): Promise<Report[]> {
    const out: Report[] = [];
    for (const day of daysBetween(fromDay, toDay)) {
      for (const doc of await this.docs('pk = :pk', { ':pk': { S: `report#${day}` } })) {
        out.push(reportSchema.parse(JSON.parse(doc)));
      }
    }
    return out;
  }

  /**
   * Keeps a statement as issued for its scope (month, grouping, team): the first one stays; later data is an
   * amendment to it (core/billing/statement.ts). True when this call issued it.
   */
  async issueStatement(scope: string, statement: Statement): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: { S: `statement#${scope}` }, sk: { S: '-' }, doc: { S: JSON.stringify(statement) } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /** The statement issued for the scope, if any. */
  async issuedStatement(scope: string): Promise<Statement | undefined> {
    const res = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: `statement#${scope}` }, sk: { S: '-' } },
        ConsistentRead: true,
      }),
    );
    const doc = res.Item?.doc?.S;
    return doc === undefined ? undefined : (JSON.parse(doc) as Statement);
  }

  async addSnapshot(provider: string, snapshot: Snapshot): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { pk: { S: `snap#${provider}` }, sk: { S: snapshot.at }, doc: { S: JSON.stringify(snapshot) } },
      }),
    );
  }

  async snapshots(provider: string, fromIso: string, toIso: string): Promise<Snapshot[]> {
    const docs = await this.docs('pk = :pk AND sk BETWEEN :a AND :b', {
      ':pk': { S: `snap#${provider}` },
      ':a': { S: fromIso },
      ':b': { S: toIso },
    });
    return docs.map((d) => snapshotSchema.parse(JSON.parse(d)));
  }

  /** The `doc` attributes of every item the key condition matches, all pages. */
  private async docs(condition: string, values: Item): Promise<string[]> {
    const out: string[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: condition,
        ExpressionAttributeValues: values,
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) if (item.doc?.S !== undefined) out.push(item.doc.S);
    }
    return out;
  }
}
