/**
 * Known OpenAI-compatible providers: a preset fills base URLs (and later billing) so a config needs only
 * `preset:` and a key. The relays' presets (4sapi, OpenRouter, SiliconFlow, DMXAPI, …) come with the providers
 * issue, each checked against the provider's public docs.
 */
export interface Preset {
  readonly type: 'openai';
  readonly baseUrls?: readonly string[];
  readonly billing?: { readonly type: string };
}

export const PRESETS: Readonly<Record<string, Preset>> = {
  openai: { type: 'openai', baseUrls: ['https://api.openai.com/v1'], billing: { type: 'openai-costs' } },
};
