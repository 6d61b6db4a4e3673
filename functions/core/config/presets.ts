/**
 * Known providers as data: a preset fills the provider type, base URLs and billing adapter, so a config needs
 * only `preset:` and a key. OpenAI-compatible relays are presets of the one `openai` adapter, not code.
 * Every row was checked against the provider's public docs (URL in `doc`); where a relay publishes no default
 * base URL the preset has none and the config must give `baseUrls` (the error says so).
 */

/** How the reconciler reads a provider's bill (the reconciliation issue implements each). */
export const BILLING_TYPES = [
  'openai-costs',
  'anthropic-cost-report',
  'openrouter',
  'oneapi',
  'siliconflow',
  'deepseek',
  'none',
] as const;
export type BillingType = (typeof BILLING_TYPES)[number];

export interface Preset {
  readonly type: 'openai' | 'anthropic' | 'gemini';
  /** In order: the next one is tried on a connection failure. Absent: the config must set `baseUrls`. */
  readonly baseUrls?: readonly string[];
  /** The billing adapter, and the currency the bill is in when it is not USD (the API does not say). */
  readonly billing: { readonly type: BillingType; readonly currency?: string };
  /**
   * The OpenAI paths the relay serves natively, where its docs say it lacks one (the rest is translated to
   * chat); absent: the type's default (openai: chat, embeddings and responses).
   */
  readonly endpoints?: readonly ('chat' | 'embeddings' | 'responses')[];
  /** Why a preset has no base URL: shown in the config error. */
  readonly baseUrlHint?: string;
  /** The public page the row was checked against. */
  readonly doc: string;
}

export const PRESETS: Readonly<Record<string, Preset>> = {
  openai: {
    type: 'openai',
    baseUrls: ['https://api.openai.com/v1'],
    billing: { type: 'openai-costs' },
    doc: 'https://platform.openai.com/docs/api-reference/usage/costs',
  },
  anthropic: {
    type: 'anthropic',
    baseUrls: ['https://api.anthropic.com/v1'],
    billing: { type: 'anthropic-cost-report' },
    doc: 'https://platform.claude.com/docs/en/api/messages',
  },
  gemini: {
    type: 'gemini',
    baseUrls: ['https://generativelanguage.googleapis.com/v1beta'],
    billing: { type: 'none' },
    doc: 'https://ai.google.dev/api/generate-content',
  },
  openrouter: {
    type: 'openai',
    baseUrls: ['https://openrouter.ai/api/v1'],
    billing: { type: 'openrouter' },
    // Its Responses API is a stateless beta (no previous_response_id, https://openrouter.ai/docs/api/reference/responses/overview):
    // Responses requests are translated to its chat API, and the gateway keeps the conversation.
    endpoints: ['chat', 'embeddings'],
    doc: 'https://openrouter.ai/docs/api/reference/overview',
  },
  // The blog gives https://4sapi.com and says OpenAI clients add /v1; billing is one-api style (new-api
  // wallet and per-key quota), not separately documented.
  '4sapi': {
    type: 'openai',
    baseUrls: ['https://4sapi.com/v1'],
    billing: { type: 'oneapi' },
    doc: 'https://blog.4sapi.com/blog/4sapi-ai-model-aggregation-api-guide',
  },
  treerouter: {
    type: 'openai',
    billing: { type: 'oneapi' },
    baseUrlHint: 'Treerouter publishes no default base URL: copy the one shown in your Treerouter console',
    doc: 'https://api.treerouter.com/en/blog/production-ready-llm-api-gateway-architecture',
  },
  siliconflow: {
    type: 'openai',
    baseUrls: ['https://api.siliconflow.cn/v1'],
    billing: { type: 'siliconflow' },
    // The API reference lists chat completions and embeddings, no Responses API.
    endpoints: ['chat', 'embeddings'],
    doc: 'https://docs.siliconflow.cn/cn/api-reference/userinfo/get-user-info',
  },
  // The international site bills in USD (the .cn site in CNY, the adapter's default).
  'siliconflow-intl': {
    type: 'openai',
    baseUrls: ['https://api.siliconflow.com/v1'],
    billing: { type: 'siliconflow', currency: 'USD' },
    endpoints: ['chat', 'embeddings'],
    doc: 'https://docs.siliconflow.com/cn/api-reference/userinfo/get-user-info',
  },
  // DMXAPI documents three sites (www.dmxapi.cn in CNY, www.dmxapi.com and ssvip.dmxapi.com in USD) whose keys
  // work only on the site that issued them: separate accounts, not redundant hosts of one. One preset each.
  dmxapi: {
    type: 'openai',
    baseUrls: ['https://www.dmxapi.cn/v1'],
    billing: { type: 'oneapi', currency: 'CNY' },
    doc: 'https://github.com/YeSongYun/dmxapi.doc/blob/main/baseurl.md',
  },
  'dmxapi-com': {
    type: 'openai',
    baseUrls: ['https://www.dmxapi.com/v1'],
    billing: { type: 'oneapi' },
    doc: 'https://github.com/YeSongYun/dmxapi.doc/blob/main/baseurl.md',
  },
  'dmxapi-ssvip': {
    type: 'openai',
    baseUrls: ['https://ssvip.dmxapi.com/v1'],
    billing: { type: 'oneapi' },
    doc: 'https://github.com/YeSongYun/dmxapi.doc/blob/main/baseurl.md',
  },
  aihubmix: {
    type: 'openai',
    baseUrls: ['https://aihubmix.com/v1'],
    billing: { type: 'oneapi' },
    doc: 'https://docs.aihubmix.com/en/quick-start',
  },
  // https://api.deepseek.com/v1 is documented "for OpenAI compatibility"; the balance is GET /user/balance.
  deepseek: {
    type: 'openai',
    baseUrls: ['https://api.deepseek.com/v1'],
    billing: { type: 'deepseek' },
    // Chat completions only (no embeddings, no Responses API): a route sending those elsewhere fails over.
    endpoints: ['chat'],
    doc: 'https://api-docs.deepseek.com/',
  },
};
