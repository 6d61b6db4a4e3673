/** What the bench runs: sizes of each phase (full or --quick) and the request bodies. */
import { BENCH_MODEL } from './ipc.ts';

export function planFor(quick: boolean) {
  return quick
    ? {
        warmSequential: 1_000,
        warmLoadMs: 1_500,
        warmStreams: 3,
        seqRounds: 6,
        seqBatch: 200,
        tputRounds: 2,
        tputMs: 1_000,
        streamRounds: 2,
        streamBatch: 10,
        rssTotal: 20_000,
        rssMs: 60_000,
      }
    : {
        warmSequential: 2_000,
        warmLoadMs: 2_000,
        warmStreams: 10,
        seqRounds: 20,
        seqBatch: 250,
        tputRounds: 6,
        tputMs: 2_000,
        streamRounds: 12,
        streamBatch: 10,
        rssTotal: 100_000,
        rssMs: 150_000,
      };
}

export const CONCURRENCY = 32;
export const CHUNK_DELAY_MS = 5;
/** Time budget of the measuring loops; the watchdog ends the run (and the children) past WATCHDOG_MS. */
export const BUDGET_MS = 270_000;
export const WATCHDOG_MS = 330_000;

export const CHAT_BODY = JSON.stringify({
  model: BENCH_MODEL,
  messages: [{ role: 'user', content: 'Hello' }],
});
export const STREAM_TEXT = 'streaming benchmark payload '.repeat(5).slice(0, 138);
/**
 * The client asks for the usage chunk, so every side sees the same events (a gateway asks the upstream for it
 * anyway, for its ledger, and drops it for a client that did not ask: the events would not line up).
 */
export const STREAM_BODY = JSON.stringify({
  model: BENCH_MODEL,
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: 'user', content: STREAM_TEXT }],
});
