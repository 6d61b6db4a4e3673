/**
 * The cold path in fresh Node processes (./child.ts under tsx): the first request with a budgeted key against
 * the first with an unbudgeted one (alternating, median of each). The memory check: ./bundle-streams.ts.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

async function child<T>(args: string[], nodeFlags: string[] = []): Promise<T> {
  const { stdout } = await run(process.execPath, [...nodeFlags, '--import', 'tsx', CHILD, ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as T;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

interface ColdRun {
  status: number;
  ms: number;
  rssAddedMb: number;
  tokenizerUsed: boolean;
  tokenizerLoadMs: number;
  tokenizerRssMb: number;
}

export interface ColdPath {
  readonly runs: number;
  readonly budgetedMs: number;
  readonly unbudgetedMs: number;
  readonly extraMs: number;
  readonly budgetedRssAddedMb: number;
  readonly unbudgetedRssAddedMb: number;
  /** Whether any first budgeted request counted tokens (loading the tokenizer ranks). */
  readonly tokenizerOnFirstBudgeted: boolean;
  /** What loading the ranks costs when something does need them (median, MB of RSS). */
  readonly tokenizerLoadMs: number;
  readonly tokenizerRssMb: number;
}

export async function coldPath(runs = 5): Promise<ColdPath> {
  const budgeted: ColdRun[] = [];
  const unbudgeted: ColdRun[] = [];
  for (let i = 0; i < runs; i++) {
    budgeted.push(await child<ColdRun>(['cold', 'budgeted+rpm']));
    unbudgeted.push(await child<ColdRun>(['cold', 'unlimited']));
  }
  const failed = [...budgeted, ...unbudgeted].filter((r) => r.status !== 200);
  if (failed.length > 0) throw new Error(`cold request answered ${failed[0]?.status}`);
  const all = [...budgeted, ...unbudgeted];
  const b = median(budgeted.map((r) => r.ms));
  const u = median(unbudgeted.map((r) => r.ms));
  return {
    runs,
    budgetedMs: b,
    unbudgetedMs: u,
    extraMs: b - u,
    budgetedRssAddedMb: median(budgeted.map((r) => r.rssAddedMb)),
    unbudgetedRssAddedMb: median(unbudgeted.map((r) => r.rssAddedMb)),
    tokenizerOnFirstBudgeted: budgeted.some((r) => r.tokenizerUsed),
    tokenizerLoadMs: median(all.map((r) => r.tokenizerLoadMs)),
    tokenizerRssMb: median(all.map((r) => r.tokenizerRssMb)),
  };
}
