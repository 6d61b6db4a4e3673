/**
 * Upstream-reported usage that cannot be true. The ledger records what the upstream said, flagged; the
 * request is charged (its cost, the key's budget) as if each impossible count were its bound — so an upstream
 * that reports 10^15 tokens bills what the request could at most have cost, never $2,000,000,000.
 *
 * Impossible means:
 * - **output** above the cap that went upstream × the choices asked for (no model writes past `max_tokens`),
 *   or, when no cap was sent, above the route's `maxOutputTokens` × the choices (the models' own limits);
 * - **input** above {@link IMPLAUSIBLE_INPUT_FACTOR} × the request's input bound on that target plus
 *   {@link IMPLAUSIBLE_INPUT_SLACK}. The bound is already a worst case (a token per text byte, images at their
 *   documented maximum), so a report beyond it needs input the request did not contain; the factor and the
 *   slack leave room for what a bound cannot see (a relay that adds its own system prompt, a web-search plugin
 *   that adds pages), and such a report below the threshold is charged as reported.
 */
import type { Usage } from '../providers/types.ts';
import type { TargetBounds } from './request-bounds.ts';

/** Reported input beyond this many times the request's input bound (plus the slack) is implausible. */
export const IMPLAUSIBLE_INPUT_FACTOR = 4;
/** Tokens an upstream may add to a short prompt (a relay's system prompt, search results) before it is implausible. */
export const IMPLAUSIBLE_INPUT_SLACK = 16_384;

export interface CheckedUsage {
  /** What the request is charged by: the report, with each implausible count replaced by its bound. */
  readonly billed: Usage;
  /** Why the report cannot be true (for the record and the log); undefined when it can. */
  readonly implausible?: string;
}

export function checkUsage(reported: Usage, b: TargetBounds): CheckedUsage {
  const reasons: string[] = [];
  let { inputTokens, outputTokens } = reported;
  const allowed = b.outputLimit * b.choices;
  if (outputTokens > allowed) {
    const what = b.outputCap === undefined ? "the route's maxOutputTokens" : 'cap';
    reasons.push(
      `output ${outputTokens} tokens > ${allowed} allowed (${what} ${b.outputLimit} × ${b.choices})`,
    );
    outputTokens = allowed;
  }
  const plausible = IMPLAUSIBLE_INPUT_FACTOR * b.inputTokens + IMPLAUSIBLE_INPUT_SLACK;
  if (inputTokens > plausible) {
    reasons.push(
      `input ${inputTokens} tokens > ${plausible} plausible ` +
        `(${IMPLAUSIBLE_INPUT_FACTOR} × the request's bound of ${b.inputTokens} + ${IMPLAUSIBLE_INPUT_SLACK})`,
    );
    inputTokens = b.inputTokens;
  }
  if (reasons.length === 0) return { billed: reported };
  const cached = Math.min(reported.cachedInputTokens ?? 0, inputTokens);
  const billed: Usage = {
    inputTokens,
    outputTokens,
    cachedInputTokens: cached,
    reasoningTokens: Math.min(reported.reasoningTokens ?? 0, outputTokens),
    ...(reported.cacheWriteTokens === undefined
      ? {}
      : { cacheWriteTokens: Math.min(reported.cacheWriteTokens, inputTokens - cached) }),
  };
  return { billed, implausible: reasons.join('; ') };
}
