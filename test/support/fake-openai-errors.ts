// OpenAI's error bodies as the fake answers them (messages copied from the real API's answers).
import type { FakeBehaviour } from './fake-openai.ts';

const QUOTA_MESSAGE = 'You exceeded your current quota, please check your plan and billing details.';
export const BAD_JSON_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";
const NO_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";

export interface ApiError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}
export const apiError = (
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
): ApiError => ({
  message,
  type,
  param,
  code,
});

/** OpenAI's error for a behaviour `status`, with errorType / errorCode / errorMessage overrides. */
export function behaviourError(b: FakeBehaviour, status: number, model: string): ApiError {
  const code = b.errorCode;
  let e: ApiError;
  if (status === 429 && code === 'insufficient_quota') {
    e = apiError(QUOTA_MESSAGE, 'insufficient_quota', code);
  } else if (status === 429) {
    const msg = `Rate limit reached for ${model} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.`;
    e = apiError(msg, 'requests', code === undefined ? 'rate_limit_exceeded' : code);
  } else if (status === 401) {
    e = apiError(
      'Incorrect API key provided.',
      'invalid_request_error',
      code === undefined ? 'invalid_api_key' : code,
    );
  } else if (status >= 500) {
    const msg = 'The server had an error while processing your request. Sorry about that!';
    e = apiError(msg, 'server_error', code ?? null);
  } else if (code === 'context_length_exceeded') {
    const msg = `This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.`;
    e = apiError(msg, 'invalid_request_error', code, 'messages');
  } else {
    e = apiError(`Fake upstream error (HTTP ${status}).`, 'invalid_request_error', code ?? null);
  }
  if (b.errorType !== undefined) e.type = b.errorType;
  if (b.errorMessage !== undefined) e.message = b.errorMessage;
  if (b.errorParam !== undefined) e.param = b.errorParam;
  return e;
}

/** Mask a key the way OpenAI does in its 401 message: first 3, asterisks, last 4. */
const maskKey = (k: string): string =>
  k.length <= 7 ? k : `${k.slice(0, 3)}${'*'.repeat(k.length - 7)}${k.slice(-4)}`;

export function authError(auth: string | undefined): ApiError {
  if (auth === undefined || !auth.startsWith('Bearer ') || auth.length === 7) {
    return apiError(NO_KEY_MESSAGE, 'invalid_request_error', null);
  }
  const msg = `Incorrect API key provided: ${maskKey(auth.slice(7))}. You can find your API key at https://platform.openai.com/account/api-keys.`;
  return apiError(msg, 'invalid_request_error', 'invalid_api_key');
}
