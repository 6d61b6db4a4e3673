/**
 * `switchyard validate`'s Responses and Messages checks against Switchyard itself (a local gateway over a fake
 * OpenAI upstream): both APIs answered — the gateway serves Responses natively to the upstream and translates
 * Messages to its chat — so both checks pass, with the text they read.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createUndiciClient } from '../../../functions/core/upstream/undici-client.ts';
import { localTokenCounter } from '../../../functions/local/token-counter.ts';
import type { HttpOutcome } from '../../../functions/local/validate/client.ts';
import { type RunnerDeps, runSubject } from '../../../functions/local/validate/runner.ts';
import { judgeOtherApi, OTHER_API_CHECKS } from '../../../functions/local/validate/suites/other-apis.ts';
import { DEFAULT_LIMITS } from '../../../functions/local/validate/types.ts';
import { type Harness, openaiProvider, route, startHarness } from '../../support/gateway-harness.ts';

const http = createUndiciClient();
const deps: RunnerDeps = { http, tokens: localTokenCounter(), sleep: async () => {}, now: () => new Date() };
let h: Harness<'up'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { up: {} },
    config: (f) => ({
      providers: { up: openaiProvider(f.up.url) },
      routes: { gpt: route([{ provider: 'up', model: 'gpt-4o' }]) },
    }),
  });
});
afterAll(async () => {
  await h.close();
  await http.close();
});

it('passes the Responses and Messages checks against Switchyard', async () => {
  const subject = { name: 'switchyard', baseUrl: h.baseURL, key: h.masterKey, model: 'gpt' };
  const report = await runSubject(subject, OTHER_API_CHECKS, DEFAULT_LIMITS, deps);
  const byId = new Map(report.checks.map((c) => [c.id, c]));
  expect(byId.get('connectivity.responses')?.status).toBe('pass');
  expect(byId.get('connectivity.responses')?.summary).toMatch(/^a Response object in \d+ ms: echo: What is/);
  expect(byId.get('connectivity.messages')?.status).toBe('pass');
  expect(byId.get('connectivity.messages')?.summary).toMatch(/^a Message in \d+ ms: echo: What is/);
  const paths = h.fakes.up.requests.map((r) => r.path).sort();
  expect(paths).toEqual(['/v1/chat/completions', '/v1/responses']);
  const sent = h.fakes.up.requests.find((r) => r.path === '/v1/responses')?.body as Record<string, unknown>;
  expect(sent.input).toBe('What is the capital of France? Answer in one word.');
  expect(sent.max_output_tokens).toBeGreaterThanOrEqual(16);
});

const outcome = (status: number | null, json: unknown = null): HttpOutcome => ({
  status,
  headers: {},
  text: json === null ? '' : JSON.stringify(json),
  json,
  latencyMs: 3,
  timedOut: false,
  usage: undefined,
});

it('skips an API the relay does not serve (404, 405, 501) and fails one it serves badly', () => {
  for (const status of [404, 405, 501]) {
    const r = judgeOtherApi('responses', outcome(status, { error: { message: 'no route' } }));
    expect(r.status).toBe('skipped');
    expect(r.summary).toBe(
      `not served (HTTP ${status}); behind Switchyard, give this provider \`endpoints: [chat, embeddings]\` and /v1/responses is translated to chat`,
    );
  }
  expect(judgeOtherApi('messages', outcome(500, { error: { message: 'boom' } })).status).toBe('fail');
  expect(judgeOtherApi('messages', outcome(200, { content: [] })).summary).toMatch(
    /^HTTP 200 without a Message holding text; /,
  );
  expect(judgeOtherApi('messages', outcome(null)).summary).toMatch(/^no answer; /);
  expect(judgeOtherApi('messages', outcome(200, { content: [{ type: 'text', text: 'Paris' }] })).status).toBe(
    'pass',
  );
});
