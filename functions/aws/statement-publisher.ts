/**
 * The stack's monthly statements: on the first three days of a month the reconciler's daily run writes the
 * previous month's statement — JSON, CSV and the printable HTML page — to the stack's statements bucket,
 * under `statements/<YYYY-MM>/statement-<YYYY-MM>.<ext>`. Days 1 and 2 write it as the data stands (the last
 * day's reconciliation and late records may still come); day 3 issues it (core/billing/statement.ts): from
 * then on the objects hold the issued statement, and a later change of the ledger shows as its amendment.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  amendmentOf,
  loadStatement,
  type StatementSources,
  statementScope,
} from '../core/billing/statement.ts';
import { statementCsv } from '../core/billing/statement-csv.ts';
import { renderStatementHtml } from '../core/billing/statement-html.ts';
import type { DynamoReportStore } from './stores/dynamo-report-store.ts';

/** The day of the month (UTC) the statement of the month before is issued. */
export const ISSUE_DAY = 3;

export interface PublishDeps extends StatementSources {
  readonly reports: DynamoReportStore;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly issuer: string;
}

export interface Published {
  readonly month: string;
  readonly number: string;
  readonly issued: boolean;
  readonly keys: readonly string[];
}

/** The month before the one `day` (YYYY-MM-DD) is in. */
export function previousMonth(day: string): string {
  const d = new Date(`${day.slice(0, 7)}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.toISOString().slice(0, 7);
}

/** Writes the previous month's statement when `today` is one of a month's first {@link ISSUE_DAY} days. */
export async function publishStatement(deps: PublishDeps, today: string): Promise<Published | undefined> {
  const dayOfMonth = Number(today.slice(8, 10));
  if (!(dayOfMonth >= 1 && dayOfMonth <= ISSUE_DAY)) return undefined;
  const month = previousMonth(today);
  const current = await loadStatement(deps, { month, issuer: deps.issuer });
  const scope = statementScope(current);
  let issued = await deps.reports.issuedStatement(scope);
  if (issued === undefined && dayOfMonth === ISSUE_DAY && (await deps.reports.issueStatement(scope, current)))
    issued = current;
  const shown = issued ?? current;
  const amendment = issued === undefined ? undefined : amendmentOf(issued, current);
  const base = `statements/${month}/statement-${month}`;
  const files = [
    {
      key: `${base}.json`,
      type: 'application/json',
      body: `${JSON.stringify(amendment === undefined ? shown : { ...shown, amendment }, null, 2)}\n`,
    },
    { key: `${base}.csv`, type: 'text/csv; charset=utf-8', body: statementCsv(shown, amendment) },
    { key: `${base}.html`, type: 'text/html; charset=utf-8', body: renderStatementHtml(shown, amendment) },
  ];
  for (const f of files)
    await deps.s3.send(
      new PutObjectCommand({ Bucket: deps.bucket, Key: f.key, Body: f.body, ContentType: f.type }),
    );
  return { month, number: shown.number, issued: issued !== undefined, keys: files.map((f) => f.key) };
}
