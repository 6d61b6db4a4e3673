/** Reading the ledger back in end-to-end tests: after the background writes, by request id. */

import type { UsageRecord } from '../../functions/core/usage/types.ts';
import type { RunningGateway } from '../../functions/local/server.ts';

const HOUR = 3_600_000;

/** Every record of the last hour (and the next), once the gateway's ledger writes have landed. */
export async function ledgerRecords(gw: RunningGateway): Promise<UsageRecord[]> {
  await gw.background.idle();
  const now = Date.now();
  return gw.ledger.records(new Date(now - HOUR).toISOString(), new Date(now + HOUR).toISOString());
}

export async function recordOf(gw: RunningGateway, requestId: string): Promise<UsageRecord> {
  const mine = (await ledgerRecords(gw)).filter((r) => r.requestId === requestId);
  if (mine.length !== 1) throw new Error(`expected one ledger record for ${requestId}, found ${mine.length}`);
  return mine[0] as UsageRecord;
}

export const today = (): string => new Date().toISOString().slice(0, 10);
