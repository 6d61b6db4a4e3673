import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../../functions/core/config/presets.ts';
import { baseUrlsOf, billingOf, parseConfig } from '../../../functions/core/config/schema.ts';
import { ADAPTERS } from '../../../functions/core/providers/registry.ts';

/** What a config with only `preset:` must resolve to (checked against each provider's public docs). */
const EXPECTED: Record<
  string,
  { type: string; baseUrls: string[]; auth: [string, string]; billing: string }
> = {
  openai: {
    type: 'openai',
    baseUrls: ['https://api.openai.com/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'openai-costs',
  },
  anthropic: {
    type: 'anthropic',
    baseUrls: ['https://api.anthropic.com/v1'],
    auth: ['x-api-key', 'k-1'],
    billing: 'anthropic-cost-report',
  },
  gemini: {
    type: 'gemini',
    baseUrls: ['https://generativelanguage.googleapis.com/v1beta'],
    auth: ['x-goog-api-key', 'k-1'],
    billing: 'none',
  },
  openrouter: {
    type: 'openai',
    baseUrls: ['https://openrouter.ai/api/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'openrouter',
  },
  '4sapi': {
    type: 'openai',
    baseUrls: ['https://4sapi.com/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'oneapi',
  },
  siliconflow: {
    type: 'openai',
    baseUrls: ['https://api.siliconflow.cn/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'siliconflow',
  },
  'siliconflow-intl': {
    type: 'openai',
    baseUrls: ['https://api.siliconflow.com/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'siliconflow',
  },
  dmxapi: {
    type: 'openai',
    baseUrls: ['https://www.dmxapi.cn/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'oneapi',
  },
  'dmxapi-com': {
    type: 'openai',
    baseUrls: ['https://www.dmxapi.com/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'oneapi',
  },
  'dmxapi-ssvip': {
    type: 'openai',
    baseUrls: ['https://ssvip.dmxapi.com/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'oneapi',
  },
  aihubmix: {
    type: 'openai',
    baseUrls: ['https://aihubmix.com/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'oneapi',
  },
  deepseek: {
    type: 'openai',
    baseUrls: ['https://api.deepseek.com/v1'],
    auth: ['authorization', 'Bearer k-1'],
    billing: 'deepseek',
  },
};

function onlyPreset(preset: string) {
  return parseConfig({ providers: { p: { preset } }, routes: {} }).providers.p!;
}

describe('presets', () => {
  it('has an expectation for every preset but treerouter (which has no public base URL)', () => {
    expect(Object.keys(PRESETS).sort()).toEqual([...Object.keys(EXPECTED), 'treerouter'].sort());
  });

  it.each(Object.entries(EXPECTED))(
    '%s: only `preset:` + a key resolves type, base URLs, auth and billing',
    (name, e) => {
      const p = onlyPreset(name);
      expect(p.type).toBe(e.type);
      expect(baseUrlsOf(p)).toEqual(e.baseUrls);
      expect(billingOf(p).type).toBe(e.billing);
      const adapter = ADAPTERS[p.type];
      if (adapter === undefined) throw new Error(`no adapter for ${p.type}`);
      const call = adapter.buildCall({
        op: 'chat',
        body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
        model: 'm',
        apiKey: 'k-1',
        requestId: 'req-1',
        extraHeaders: undefined,
        provider: p,
        epochMs: 0,
      });
      expect(call.headers[e.auth[0]]).toBe(e.auth[1]);
      expect(call.headers['x-request-id']).toBe('req-1');
    },
  );

  it('treerouter: requires baseUrls, and the error says where to find it', () => {
    expect(() => onlyPreset('treerouter')).toThrow(
      /providers\.p\.baseUrls: required \(Treerouter publishes no default base URL/,
    );
    const cfg = parseConfig({
      providers: { t: { preset: 'treerouter', baseUrls: ['https://console-given.example/v1'] } },
      routes: {},
    });
    expect(baseUrlsOf(cfg.providers.t!)).toEqual(['https://console-given.example/v1']);
    expect(billingOf(cfg.providers.t!).type).toBe('oneapi');
  });

  it("a provider's own baseUrls and billing win over its preset's", () => {
    const cfg = parseConfig({
      providers: {
        o: { preset: 'openrouter', baseUrls: ['https://eu.example/v1'], billing: { type: 'none' } },
      },
      routes: {},
    });
    expect(baseUrlsOf(cfg.providers.o!)).toEqual(['https://eu.example/v1']);
    expect(billingOf(cfg.providers.o!).type).toBe('none');
  });

  it('carries the currency of bills that are not in USD, kept when the config adds billing options', () => {
    expect(billingOf(onlyPreset('dmxapi'))).toEqual({ type: 'oneapi', currency: 'CNY' });
    expect(billingOf(onlyPreset('siliconflow-intl'))).toEqual({ type: 'siliconflow', currency: 'USD' });
    const cfg = parseConfig({
      providers: { d: { preset: 'dmxapi', billing: { type: 'oneapi', usdRate: 0.14 } } },
      routes: {},
    });
    expect(billingOf(cfg.providers.d!)).toEqual({ type: 'oneapi', currency: 'CNY', usdRate: 0.14 });
  });

  it('every preset names the public page it was checked against', () => {
    for (const p of Object.values(PRESETS)) expect(p.doc).toMatch(/^https:\/\//);
  });
});
