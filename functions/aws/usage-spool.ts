/**
 * On Lambda the spool is the log: a record the ledger refused goes out as one structured line that
 * `switchyard usage replay <exported log file>` re-ingests. A UsageRecord holds no prompt and no secret.
 */
import type { UsageRecord, UsageSpool } from '../core/usage/types.ts';

export class LogUsageSpool implements UsageSpool {
  constructor(private readonly write: (line: string) => void = (l) => process.stdout.write(l)) {}

  spool(record: UsageRecord, error: unknown): void {
    const line = {
      level: 'WARN',
      message: 'usage record spooled',
      usageRecord: record,
      error: error instanceof Error ? error.message : String(error),
    };
    this.write(`${JSON.stringify(line)}\n`);
  }
}
