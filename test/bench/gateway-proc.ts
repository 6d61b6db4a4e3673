/**
 * Child process of the bench: the real local gateway (`startGateway`: embedded store on a temp dir, the
 * usage ledger on, default
 * 5 s routes cache, undici upstream pool, the normal JSON logger) with one route, `gpt-4o-mini`, to the
 * fake upstream. argv[2] = the upstream's OpenAI base URL.
 *
 * The logger is left at its default — one JSON line per request on stdout — and the parent points this
 * process's stdout at a file, so logging costs what it costs in a real deployment.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../functions/core/config/schema.ts';
import { InMemoryMetrics } from '../../functions/local/observability.ts';
import { startGateway } from '../../functions/local/server.ts';
import { BENCH_MASTER_KEY, BENCH_MODEL, BENCH_PROVIDER_KEY, isToChild, reply, replyRss } from './ipc.ts';

async function main(upstreamUrl: string): Promise<void> {
  const config = parseConfig(
    {
      providers: { fake: { type: 'openai', baseUrls: [upstreamUrl] } },
      routes: { [BENCH_MODEL]: { targets: [{ provider: 'fake', model: BENCH_MODEL }] } },
    },
    'bench config',
  );
  const metrics = new InMemoryMetrics();
  // The store on disk, as `npm start` has it: the ledger's records go to LevelDB, not to the heap.
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-data-'));
  const gw = await startGateway({
    config,
    masterKey: BENCH_MASTER_KEY,
    providerKeys: { fake: BENCH_PROVIDER_KEY },
    metrics,
    dataDir,
  });

  process.on('message', (m: unknown) => {
    if (!isToChild(m)) return;
    if (m.type === 'rss') {
      const { written, spooled } = gw.ledgerWriter.stats;
      replyRss({
        requests: metrics.totals.requests,
        errors: metrics.totals.errors,
        ledger: { written, spooled, pending: gw.background.size },
      });
    } else if (m.type === 'exit') {
      // A clean exit, so that --cpu-prof can write its profile.
      void gw.close(500).finally(() => {
        rmSync(dataDir, { recursive: true, force: true });
        process.exit(0);
      });
    }
  });
  process.on('disconnect', () => process.exit(0));
  reply({ type: 'ready', origin: gw.origin, url: `${gw.origin}/v1` });
}

main(process.argv[2] ?? '').catch((err: unknown) => {
  reply({ type: 'error', message: String(err) });
  process.exit(1);
});
