/**
 * `npm run bench:core`: the CPU cost of Switchyard's own work per request, without sockets — `handle()` with an
 * in-process upstream that answers a canned OpenAI body. Syscall-free, so it is far steadier than the
 * loopback bench on a shared VM; it shows what validation, routing, auth, timers, logging and metrics cost.
 */

import { openSync, writeSync } from 'node:fs';
import { MasterKeyStore } from '../../functions/core/auth.ts';
import { parseConfig } from '../../functions/core/config/schema.ts';
import { createGateway } from '../../functions/core/gateway/gateway.ts';
import type { HttpClient } from '../../functions/core/providers/types.ts';
import { maskingLogger, SecretMasker } from '../../functions/core/secrets.ts';
import { abortableSleep, systemClock } from '../../functions/core/system.ts';
import { InMemoryMetrics, jsonLogger } from '../../functions/local/observability.ts';

const answer = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'echo: Say hello to the benchmark.' },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 6, completion_tokens: 6, total_tokens: 12 },
  }),
);
const upstream: HttpClient = {
  async send() {
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: (async function* () {
        yield answer;
      })(),
      dispose() {},
    };
  },
};
const devnull = openSync('/dev/null', 'w');
// Log lines are batched as the local host batches them (one write per 64 KiB), so the syscall is amortised.
let pending = '';
const write = (line: string) => {
  pending += line;
  if (pending.length >= 65_536) {
    writeSync(devnull, pending);
    pending = '';
  }
};
// The keys the gateway holds, masked by value in answers and log lines, as both hosts do.
const MASTER = 'sk-sy-master-bench-0123456789abcdef';
const secrets = new SecretMasker();
secrets.add([MASTER, 'sk-up-bench-provider-key-0123456789']);
const gateway = createGateway({
  routes: {
    load: async () =>
      parseConfig({
        providers: { fake: { type: 'openai', baseUrls: ['http://fake.invalid/v1'] } },
        routes: { 'gpt-4o-mini': { targets: [{ provider: 'fake', model: 'gpt-4o-mini' }] } },
      }),
  },
  keys: new MasterKeyStore(MASTER),
  providerKeys: { keys: async () => ['sk-up-bench-provider-key-0123456789'] },
  secrets,
  http: upstream,
  clock: systemClock,
  sleep: abortableSleep,
  random: Math.random,
  logger: maskingLogger(jsonLogger(write), secrets),
  metrics: new InMemoryMetrics(),
});
const body = Buffer.from(
  JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say hello to the benchmark.' }],
  }),
);
const headers = {
  authorization: 'Bearer sk-sy-master-bench-0123456789abcdef',
  'content-type': 'application/json',
};
async function run(n: number): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const r = await gateway.handle({
      method: 'POST',
      path: '/v1/chat/completions',
      headers,
      body,
      signal: new AbortController().signal,
    });
    if (r.status !== 200) throw new Error(`status ${r.status}`);
  }
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}
await run(20_000);
const samples: number[] = [];
for (let i = 0; i < 5; i++) samples.push(await run(20_000));
samples.sort((a, b) => a - b);
console.log(
  `core cost per request: median ${samples[2]?.toFixed(1)} µs CPU (min ${samples[0]?.toFixed(1)}, max ${samples[4]?.toFixed(1)})`,
);
