/**
 * Records the ledger could not take, appended to `<dataDir>/usage-spool.jsonl` for `switchyard usage replay`.
 * Synchronous appends are fine here: this path runs only after the store refused a record four times.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NO_SECRETS, type SecretMasker } from '../core/secrets.ts';
import type { UsageRecord, UsageSpool } from '../core/usage/types.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-dir.ts';

export const SPOOL_FILE = 'usage-spool.jsonl';

export class FileUsageSpool implements UsageSpool {
  readonly path: string;
  /** `secrets`: every key the gateway holds, masked in each line (a store error may echo one). */
  constructor(
    dataDir: string,
    private readonly secrets: SecretMasker = NO_SECRETS,
  ) {
    this.path = join(dataDir, SPOOL_FILE);
  }

  spool(record: UsageRecord, error: unknown): void {
    // Private like the rest of the data dir (the owner's umask may be looser: the spool can outlive the store).
    mkdirSync(join(this.path, '..'), { recursive: true, mode: PRIVATE_DIR_MODE });
    const line = {
      usageRecord: record,
      error: error instanceof Error ? error.message : String(error),
      spooledAt: new Date().toISOString(),
    };
    appendFileSync(this.path, `${JSON.stringify(line, this.masked)}\n`, { mode: PRIVATE_FILE_MODE });
  }

  /** Each string in the line masked before it is written (the line stays valid JSON for `usage replay`). */
  private readonly masked = (_key: string, value: unknown): unknown =>
    typeof value === 'string' && this.secrets.size > 0 ? this.secrets.mask(value) : value;
}
