// Gemini's error bodies as the fake answers them: Google's `{"error":{code,message,status,details}}`, with the
// messages the Gemini API words them in (https://ai.google.dev/gemini-api/docs/troubleshooting).
import type { GeminiBehaviour } from './fake-gemini.ts';
import type { Json } from './fake-openai-stream.ts';

export interface GoogleError {
  code: number;
  message: string;
  status: string;
  details?: Json[];
}
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};
const KEY_MESSAGE = 'API key not valid. Please pass a valid API key.';
export const NO_KEY_MESSAGE =
  "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.";

/** Google's error for a behaviour's status, messages as the Gemini API words them. */
export function behaviourError(b: GeminiBehaviour, code: number, model: string): GoogleError {
  const messages: Record<number, string> = {
    400: 'Request contains an invalid argument.',
    403: 'The caller does not have permission',
    404: `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
    429: 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
    500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
    503: 'The model is overloaded. Please try again later.',
    504: 'Deadline expired before operation could complete.',
  };
  const e: GoogleError = {
    code,
    message: b.errorMessage ?? messages[code] ?? `Fake upstream error (HTTP ${code}).`,
    status: b.errorStatus ?? STATUS_NAMES[code] ?? 'UNKNOWN',
  };
  if (code === 429) {
    e.details = [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          { quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests' },
        ],
      },
      {
        '@type': 'type.googleapis.com/google.rpc.Help',
        links: [{ url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }],
      },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: b.retryDelay ?? '20s' },
    ];
  }
  return e;
}
export const badKeyError = (): GoogleError => ({
  code: 400,
  message: KEY_MESSAGE,
  status: 'INVALID_ARGUMENT',
  details: [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'API_KEY_INVALID',
      domain: 'googleapis.com',
      metadata: { service: 'generativelanguage.googleapis.com' },
    },
    { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: KEY_MESSAGE },
  ],
});

export const invalid = (message: string): GoogleError => ({ code: 400, message, status: 'INVALID_ARGUMENT' });
