/**
 * On Lambda the spool is the log: a record the ledger refused goes out as one structured line that
 * `switchyard usage replay <exported log file>` re-ingests. A UsageRecord holds no prompt and no secret.
 */
import { NO_SECRETS, type SecretMasker } from '../core/secrets.ts';
import type { UsageRecord, UsageSpool } from '../core/usage/types.ts';

export class LogUsageSpool implements UsageSpool {
  /** `secrets`: every key the gateway holds, masked in each line (a store error may echo one). */
  constructor(
    private readonly write: (line: string) => void = (l) => process.stdout.write(l),
    private readonly secrets: SecretMasker = NO_SECRETS,
  ) {}

  spool(record: UsageRecord, error: unknown): void {
    const line = {
      level: 'WARN',
      message: 'usage record spooled',
      usageRecord: record,
      error: error instanceof Error ? error.message : String(error),
    };
    this.write(`${JSON.stringify(line, this.masked)}\n`);
  }

  /** Each string in the line masked before it is written (the line stays valid JSON for `usage replay`). */
  private readonly masked = (_key: string, value: unknown): unknown =>
    typeof value === 'string' && this.secrets.size > 0 ? this.secrets.mask(value) : value;
}
