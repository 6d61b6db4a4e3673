/** The bench's arithmetic on stream timings: per-chunk transit, holds against the direct path, TTFT legs. */
import { readFileSync, statSync } from 'node:fs';
import { percentile, type Side } from './client.ts';
import { monoMs } from './ipc.ts';

/** 'echo: ' + 138 characters = 18 content frames of 8, + role, stop and usage frames + [DONE]. */
export const STREAM_EVENTS = 22;
export const HOLD_LIMIT_MS = 2;
const p = (v: readonly number[], q: number): number => percentile(v, q);

export interface StreamSample {
  readonly id: string;
  readonly start: number;
  readonly ttft: number;
  readonly events: number[];
}
/** Per stream: when the upstream wrote each frame and when the client had each event (same clock). */
export interface Timed {
  readonly start: number;
  readonly sent: readonly number[];
  readonly got: readonly number[];
}

export function timed(samples: readonly StreamSample[], stamps: ReadonlyMap<string, number[]>): Timed[] {
  const out: Timed[] = [];
  for (const s of samples) {
    const sent = stamps.get(s.id);
    if (sent?.length === STREAM_EVENTS && s.events.length === STREAM_EVENTS) {
      out.push({ start: s.start, sent, got: s.events });
    }
  }
  return out;
}

export const transitOf = (t: Timed, i: number): number =>
  (t.got[i] ?? Number.NaN) - (t.sent[i] ?? Number.NaN);

export function countLines(path: string): { lines: number; bytes: number } | undefined {
  try {
    if (!statSync(path).isFile()) return undefined;
    const buf = readFileSync(path);
    let lines = 0;
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
    return { lines, bytes: buf.byteLength };
  } catch {
    return undefined;
  }
}

/** Hold statistics of one side's streams against the direct side's median transit. */
export function holdsOf(ts: readonly Timed[], baseline: number) {
  const hold = ts.flatMap((t) => t.got.map((_, i) => transitOf(t, i) - baseline));
  // Median hold of each chunk position: a proxy that buffers (say, the first or last event) shows here.
  const byPosition = Array.from({ length: STREAM_EVENTS }, (_, i) =>
    p(
      ts.map((t) => transitOf(t, i) - baseline),
      50,
    ),
  );
  const worst = byPosition.reduce((w, v, i) => (v > (byPosition[w] ?? v) ? i : w), 0);
  return {
    hold,
    over: hold.filter((h) => h > HOLD_LIMIT_MS).length,
    worstPosition: worst,
    worstMedian: byPosition[worst] ?? Number.NaN,
  };
}

/** TTFT split: issue → the upstream writes frame 0 (request path), frame 0 → at the client (relay). */
export const requestLeg = (ts: readonly Timed[]): number =>
  p(
    ts.map((t) => (t.sent[0] ?? Number.NaN) - t.start),
    50,
  );
export const relayLeg = (ts: readonly Timed[]): number =>
  p(
    ts.map((t) => transitOf(t, 0)),
    50,
  );

/** Rotates which side goes first in each round (ABC, BCA, CAB, …) so no side always runs warmer. */
export function rotate<T>(round: number, sides: readonly T[]): T[] {
  const k = round % sides.length;
  return [...sides.slice(k), ...sides.slice(0, k)];
}

export const bySide = <T>(make: () => T): Record<Side, T> => ({
  direct: make(),
  gateway: make(),
  reference: make(),
});

/** How late an idle 5 ms timer fires in this process: the machine's own scheduling noise. */
export async function timerJitter(samples: number): Promise<number[]> {
  const late: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = monoMs();
    await new Promise((resolve) => setTimeout(resolve, 5));
    late.push(monoMs() - start - 5);
  }
  return late;
}
