/**
 * Monthly statements (issue 15): for a UTC month, who spent what — by team, then key, then provider and
 * model — from the ledger's daily aggregates, with the month's reconciliation beside the numbers: which part
 * of the total the providers' own bills confirm, which drifted and by how much, which could not be verified,
 * and which was never reconciled (days without a report). Pure: the same stored data gives the same
 * statement, byte for byte — no clock, no live balance; its number is a digest of its content.
 */
import { createHash } from 'node:crypto';
import { daysBetween } from '../days.ts';
import type { ClientKey, ClientKeyRepo } from '../keys/types.ts';
import type { UsageAggregate, UsageReader } from '../usage/types.ts';
import type { ReportStore } from './reconcile.ts';
import type { Report, Verdict } from './report.ts';

export interface Totals {
  readonly requests: number;
  readonly errors: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens: number;
  /** Priced requests' cost, USD (unpriced requests are counted apart, never as $0). */
  readonly costUsd: number;
  readonly unpricedRequests: number;
  /** The part estimated by the gateway (the upstream reported no usage). */
  readonly estimatedRequests: number;
  readonly estimatedInputTokens: number;
  readonly estimatedOutputTokens: number;
  readonly estimatedCostUsd: number;
}

export interface StatementLine extends Totals {
  readonly provider: string;
  readonly model: string;
  readonly priceVersions: readonly string[];
}

export interface StatementKey {
  readonly keyId: string;
  /** From the keys table (`master key` for the master key; empty for a key it no longer has). */
  readonly name: string;
  readonly lines: readonly StatementLine[];
  readonly subtotal: Totals;
}

export interface StatementTeam {
  /** null: keys without a team. */
  readonly team: string | null;
  readonly keys: readonly StatementKey[];
  readonly subtotal: Totals;
}

/** How much of the statement's cost each kind of reconciliation verdict covers, USD. */
export interface Proof {
  /** Provider-days whose verdict is ok: the provider's own bill agrees. */
  readonly confirmedUsd: number;
  /** Provider-days whose bill and ledger differ beyond tolerance. */
  readonly driftedUsd: number;
  /** Provider-days that could not be verified (no billing API, a provider error, a partial day). */
  readonly unverifiableUsd: number;
  /** Provider-days with no report at all. */
  readonly notReconciledUsd: number;
}

export interface ProviderProof extends Proof {
  readonly provider: string;
  /** The provider's bill minus the ledger over its drift days (USD; from the reports). */
  readonly driftUsd: number;
  /** Days of the month with cost on this provider and no report. */
  readonly daysWithoutReport: readonly string[];
  /** The distinct reasons of its non-ok verdicts, with the days they apply to (at most 10). */
  readonly reasons: readonly {
    readonly verdict: Verdict;
    readonly reason: string;
    readonly days: readonly string[];
  }[];
}

export interface Statement {
  /** `ST-<month>-<8 hex>`: a digest of everything below, so the same data gives the same number. */
  readonly number: string;
  readonly month: string;
  readonly period: { readonly from: string; readonly to: string };
  readonly issuer: string;
  readonly by: 'team' | 'key';
  /** Only this team's keys (`--team`), else every key. */
  readonly team?: string;
  readonly teams: readonly StatementTeam[];
  readonly total: Totals;
  readonly byDay: readonly { readonly day: string; readonly costUsd: number }[];
  readonly proof: Proof & { readonly providers: readonly ProviderProof[] };
}

export interface StatementInput {
  readonly month: string;
  readonly issuer: string;
  readonly by?: 'team' | 'key';
  readonly team?: string;
  readonly aggregates: readonly UsageAggregate[];
  readonly keys: readonly ClientKey[];
  readonly reports: readonly Report[];
}

const ZERO: Totals = {
  requests: 0,
  errors: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  costUsd: 0,
  unpricedRequests: 0,
  estimatedRequests: 0,
  estimatedInputTokens: 0,
  estimatedOutputTokens: 0,
  estimatedCostUsd: 0,
};
const TOTAL_FIELDS = Object.keys(ZERO) as (keyof Totals)[];

/** USD summed over many lines: rounded to 1e-10 like the ledger's aggregates. */
const usd = (v: number): number => Math.round(v * 1e10) / 1e10;

function add(a: Totals, b: Partial<Totals>): Totals {
  const out: Record<string, number> = {};
  for (const f of TOTAL_FIELDS) {
    const v = a[f] + (b[f] ?? 0);
    out[f] = f.endsWith('Usd') ? usd(v) : v;
  }
  return out as unknown as Totals;
}

/** The first and last UTC day of `YYYY-MM`. */
export function monthDays(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function buildStatement(input: StatementInput): Statement {
  const { from, to } = monthDays(input.month);
  const by = input.by ?? 'team';
  const keyById = new Map(input.keys.map((k) => [k.id, k]));
  const teamOf = (keyId: string): string | null => keyById.get(keyId)?.team ?? null;
  const nameOf = (keyId: string): string =>
    keyId === 'master' ? 'master key' : (keyById.get(keyId)?.name ?? '');
  const aggregates = input.aggregates.filter(
    (a) => a.day >= from && a.day <= to && (input.team === undefined || teamOf(a.keyId) === input.team),
  );

  // Lines: per key, per provider and model, over the month's days.
  const lines = new Map<
    string,
    Map<string, { line: Totals; provider: string; model: string; versions: Set<string> }>
  >();
  const byDay = new Map<string, number>();
  const providerDay = new Map<string, number>();
  for (const a of aggregates) {
    const perKey = lines.get(a.keyId) ?? new Map();
    lines.set(a.keyId, perKey);
    const id = `${a.provider}|${a.model}`;
    const cur = perKey.get(id) ?? {
      line: ZERO,
      provider: a.provider,
      model: a.model,
      versions: new Set<string>(),
    };
    cur.line = add(cur.line, a);
    for (const v of a.priceVersions ?? []) cur.versions.add(v);
    perKey.set(id, cur);
    byDay.set(a.day, usd((byDay.get(a.day) ?? 0) + a.costUsd));
    const pd = `${a.provider}|${a.day}`;
    providerDay.set(pd, usd((providerDay.get(pd) ?? 0) + a.costUsd));
  }

  const keyBlocks: (StatementKey & { team: string | null })[] = [...lines]
    .map(([keyId, perKey]) => {
      const ls: StatementLine[] = [...perKey.values()]
        .map((c) => ({
          provider: c.provider,
          model: c.model,
          ...c.line,
          priceVersions: [...c.versions].sort(byText),
        }))
        .sort((x, y) => byText(x.provider, y.provider) || byText(x.model, y.model));
      return {
        keyId,
        name: nameOf(keyId),
        team: by === 'team' ? teamOf(keyId) : null,
        lines: ls,
        subtotal: ls.reduce<Totals>((t, l) => add(t, l), ZERO),
      };
    })
    .sort((x, y) => byText(x.keyId, y.keyId));
  const teamNames = [...new Set(keyBlocks.map((k) => k.team))].sort((x, y) =>
    x === null ? 1 : y === null ? -1 : byText(x, y),
  );
  const teams: StatementTeam[] = teamNames.map((team) => {
    const keys = keyBlocks.filter((k) => k.team === team).map(({ team: _t, ...k }) => k);
    return { team, keys, subtotal: keys.reduce<Totals>((t, k) => add(t, k.subtotal), ZERO) };
  });
  const total = teams.reduce<Totals>((t, x) => add(t, x.subtotal), ZERO);

  const proof = proofOf(providerDay, input.reports, from, to);
  const body = {
    month: input.month,
    period: { from, to },
    issuer: input.issuer,
    by,
    ...(input.team === undefined ? {} : { team: input.team }),
    teams,
    total,
    byDay: daysBetween(from, to).map((day) => ({ day, costUsd: byDay.get(day) ?? 0 })),
    proof,
  };
  const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 8);
  return { number: `ST-${input.month}-${digest}`, ...body };
}

/** The month's cost by provider-day against each provider-day's reconciliation verdict. */
function proofOf(
  providerDay: ReadonlyMap<string, number>,
  reports: readonly Report[],
  from: string,
  to: string,
): Statement['proof'] {
  const reportOf = new Map(
    reports.filter((r) => r.day >= from && r.day <= to).map((r) => [`${r.provider}|${r.day}`, r]),
  );
  const per = new Map<
    string,
    {
      p: Record<keyof Proof, number>;
      drift: number;
      missing: string[];
      reasons: Map<string, { verdict: Verdict; reason: string; days: string[] }>;
    }
  >();
  // Every provider-day with cost, and every reported one (a bill the ledger has nothing for is drift too).
  const keys = [...new Set([...providerDay.keys(), ...reportOf.keys()])].sort(byText);
  for (const pd of keys) {
    const [provider = '', day = ''] = pd.split('|');
    const cost = providerDay.get(pd) ?? 0;
    if (cost === 0 && !reportOf.has(pd)) continue;
    const cur = per.get(provider) ?? {
      p: { confirmedUsd: 0, driftedUsd: 0, unverifiableUsd: 0, notReconciledUsd: 0 },
      drift: 0,
      missing: [] as string[],
      reasons: new Map<string, { verdict: Verdict; reason: string; days: string[] }>(),
    };
    per.set(provider, cur);
    const report = reportOf.get(pd);
    if (report === undefined) {
      cur.p.notReconciledUsd += cost;
      cur.missing.push(day);
      continue;
    }
    const kind: keyof Proof =
      report.verdict === 'ok'
        ? 'confirmedUsd'
        : report.verdict === 'drift'
          ? 'driftedUsd'
          : 'unverifiableUsd';
    cur.p[kind] += cost;
    if (report.verdict === 'drift') cur.drift += report.driftUsd ?? 0;
    if (report.verdict !== 'ok') {
      const id = `${report.verdict}|${report.reason}`;
      const r = cur.reasons.get(id) ?? { verdict: report.verdict, reason: report.reason, days: [] };
      r.days.push(day);
      cur.reasons.set(id, r);
    }
  }
  const providers: ProviderProof[] = [...per]
    .sort(([a], [b]) => byText(a, b))
    .map(([provider, c]) => ({
      provider,
      confirmedUsd: usd(c.p.confirmedUsd),
      driftedUsd: usd(c.p.driftedUsd),
      unverifiableUsd: usd(c.p.unverifiableUsd),
      notReconciledUsd: usd(c.p.notReconciledUsd),
      driftUsd: usd(c.drift),
      daysWithoutReport: c.missing,
      reasons: [...c.reasons.values()].slice(0, 10),
    }));
  const sum = (f: keyof Proof) => usd(providers.reduce((s, p) => s + p[f], 0));
  return {
    confirmedUsd: sum('confirmedUsd'),
    driftedUsd: sum('driftedUsd'),
    unverifiableUsd: sum('unverifiableUsd'),
    notReconciledUsd: sum('notReconciledUsd'),
    providers,
  };
}

/** What changed in the ledger since a statement was issued: per line, the issued figures and today's. */
export interface Amendment {
  /** The number today's data gives (the issued statement keeps its own). */
  readonly number: string;
  readonly lines: readonly {
    readonly keyId: string;
    readonly provider: string;
    readonly model: string;
    readonly before: Totals;
    readonly after: Totals;
    readonly delta: Totals;
  }[];
  readonly delta: Totals;
}

function minus(a: Totals, b: Totals): Totals {
  const out: Record<string, number> = {};
  for (const f of TOTAL_FIELDS) out[f] = f.endsWith('Usd') ? usd(a[f] - b[f]) : a[f] - b[f];
  return out as unknown as Totals;
}

const linesOf = (
  s: Statement,
): Map<string, { keyId: string; provider: string; model: string; totals: Totals }> =>
  new Map(
    s.teams.flatMap((t) =>
      t.keys.flatMap((k) =>
        k.lines.map((l) => {
          const totals = Object.fromEntries(TOTAL_FIELDS.map((f) => [f, l[f]])) as unknown as Totals;
          return [
            `${k.keyId}|${l.provider}|${l.model}`,
            { keyId: k.keyId, provider: l.provider, model: l.model, totals },
          ];
        }),
      ),
    ),
  );

/**
 * The amendment of an issued statement by one made from today's data (a late ledger write, a replay): the
 * lines whose figures differ, and the change of the total; undefined when the figures are the same (a key
 * that moved team changes no figure).
 */
export function amendmentOf(issued: Statement, current: Statement): Amendment | undefined {
  const before = linesOf(issued);
  const after = linesOf(current);
  const lines: Amendment['lines'][number][] = [];
  for (const id of [...new Set([...before.keys(), ...after.keys()])].sort(byText)) {
    const b = before.get(id);
    const a = after.get(id);
    const x = (a ?? b) as { keyId: string; provider: string; model: string };
    const bt = b?.totals ?? ZERO;
    const at = a?.totals ?? ZERO;
    const delta = minus(at, bt);
    if (TOTAL_FIELDS.every((f) => delta[f] === 0)) continue;
    lines.push({ keyId: x.keyId, provider: x.provider, model: x.model, before: bt, after: at, delta });
  }
  if (lines.length === 0) return undefined;
  return { number: current.number, lines, delta: minus(current.total, issued.total) };
}

/** Where a statement's data comes from: the ledger's aggregates, the keys, the reconciliation reports. */
export interface StatementSources {
  readonly usage: Pick<UsageReader, 'aggregates'>;
  readonly keys: Pick<ClientKeyRepo, 'list'>;
  readonly reports: Pick<ReportStore, 'list'>;
}

/** Reads the month's data and builds its statement (the CLI and the stack's scheduled run alike). */
export async function loadStatement(
  src: StatementSources,
  opts: Omit<StatementInput, 'aggregates' | 'keys' | 'reports'>,
): Promise<Statement> {
  const { from, to } = monthDays(opts.month);
  const [aggregates, keys, reports] = await Promise.all([
    src.usage.aggregates(from, to),
    src.keys.list(),
    src.reports.list(from, to),
  ]);
  return buildStatement({ ...opts, aggregates, keys, reports });
}

/** The scope an issued statement is kept under: month, grouping and team. */
export const statementScope = (s: Pick<Statement, 'month' | 'by' | 'team'>): string =>
  `${s.month}|${s.by}|${s.team ?? '*'}`;
