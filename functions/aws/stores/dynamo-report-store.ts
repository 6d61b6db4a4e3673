/**
 * Reconciliation reports and bill snapshots in DynamoDB (the reports table; locally the same table in the
 * embedded store). A report is rewritten only when it differs from the stored one (a conditional put on its
 * JSON), so running the job twice for the same window changes nothing.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { ReportStore } from '../../core/billing/reconcile.ts';
import { type Report, reportSchema } from '../../core/billing/report-schema.ts';
import type { Snapshot } from '../../core/billing/types.ts';

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
    for (
      let day = fromDay;
      day <= toDay;
      day = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
    ) {
      for (const item of await this.query('pk = :pk', { ':pk': { S: `report#${day}` } })) {
        const doc = item.doc?.S;
        if (doc !== undefined) out.push(reportSchema.parse(JSON.parse(doc)));
      }
    }
    return out;
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
    const items = await this.query('pk = :pk AND sk BETWEEN :a AND :b', {
      ':pk': { S: `snap#${provider}` },
      ':a': { S: fromIso },
      ':b': { S: toIso },
    });
    return items.flatMap((i) => (i.doc?.S === undefined ? [] : [JSON.parse(i.doc.S) as Snapshot]));
  }

  private async query(condition: string, values: Item): Promise<Item[]> {
    const out: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: condition,
          ExpressionAttributeValues: values,
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      out.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }
}
