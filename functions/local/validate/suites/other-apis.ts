/**
 * Connectivity of the two other APIs clients call: OpenAI's Responses (`POST /responses`: the AI SDK's
 * default provider, Codex, `client.responses.create`) and Anthropic's Messages (`POST /messages`: Claude Code,
 * the Anthropic SDK). Not required — a relay that serves chat only is still usable behind Switchyard, which
 * translates both — but what they find is what the gateway config should say: a relay without Responses
 * gets `endpoints: [chat, embeddings]`, or its Responses requests fail instead of being translated.
 */
import { isRecord } from '../../../core/json.ts';
import { callEvidence, record } from '../answers.ts';
import { classifyError, excerpt } from '../classify.ts';
import type { HttpOutcome, OtherApi } from '../client.ts';
import { round } from '../stats.ts';
import type { Check, CheckOutcome } from '../types.ts';

/** Statuses by which a server says it has no such endpoint. */
const NOT_SERVED: ReadonlySet<number> = new Set([404, 405, 501]);

const QUESTION = 'What is the capital of France? Answer in one word.';

/** The answer's text: a Response's `output_text` parts, or a Message's text blocks ('' when none). */
export function otherApiText(api: OtherApi, json: unknown): string {
  if (!isRecord(json)) return '';
  const items = api === 'responses' ? json.output : json.content;
  if (!Array.isArray(items)) return '';
  let text = '';
  for (const item of items) {
    if (!isRecord(item)) continue;
    if (api === 'messages' && item.type === 'text' && typeof item.text === 'string') text += item.text;
    if (api === 'responses' && item.type === 'message' && Array.isArray(item.content)) {
      for (const part of item.content) {
        if (isRecord(part) && part.type === 'output_text' && typeof part.text === 'string') text += part.text;
      }
    }
  }
  return text;
}

/** What the check concludes from one call. */
export function judgeOtherApi(api: OtherApi, out: HttpOutcome): CheckOutcome {
  const evidence = callEvidence(out);
  const text = otherApiText(api, out.json);
  const shape = api === 'responses' ? 'a Response object' : 'a Message';
  if (classifyError(out) === null && text.trim() !== '') {
    return {
      status: 'pass',
      summary: `${shape} in ${round(out.latencyMs, 0)} ms: ${excerpt(text, 40)}`,
      evidence: { ...evidence, content: excerpt(text) },
    };
  }
  const advice =
    api === 'responses'
      ? 'behind Switchyard, give this provider `endpoints: [chat, embeddings]` and /v1/responses is translated to chat'
      : 'behind Switchyard, /v1/messages to this provider is translated to chat';
  // 404, 405 and 501 say "this relay does not serve that API", which is not a fault of the relay (the check is
  // not required and Switchyard translates both): skipped, with what to configure. Anything else — a 5xx,
  // a 200 without text, no answer — is the API being served badly: a failure.
  if (out.status !== null && NOT_SERVED.has(out.status)) {
    return { status: 'skipped', summary: `not served (HTTP ${out.status}); ${advice}`, evidence };
  }
  const what = out.status === null ? 'no answer' : `HTTP ${out.status} without ${shape} holding text`;
  return { status: 'fail', summary: `${what}; ${advice}`, evidence };
}

function otherApiCheck(api: OtherApi): Check {
  return {
    name: api,
    suite: 'connectivity',
    title:
      api === 'responses'
        ? 'POST /responses (OpenAI Responses API) is answered'
        : 'POST /messages (Anthropic Messages API) is answered',
    required: false,
    async run(ctx) {
      const out = await ctx.client.other(api, QUESTION);
      record(ctx, out);
      return judgeOtherApi(api, out);
    },
  };
}

export const OTHER_API_CHECKS: readonly Check[] = [otherApiCheck('responses'), otherApiCheck('messages')];
