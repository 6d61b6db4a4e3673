import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXAMPLE_CONFIG_YAML } from '../../../functions/core/config/example.ts';
import { baseUrlsOf, ConfigError, parseConfig } from '../../../functions/core/config/schema.ts';

function issuesOf(input: unknown): readonly string[] {
  try {
    parseConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

const valid = {
  providers: {
    'relay-a': { type: 'openai', baseUrls: ['https://a.example/v1/', 'https://a-backup.example/v1'] },
  },
  routes: { 'gpt-4o-mini': { targets: [{ provider: 'relay-a', model: 'gpt-4o-mini' }] } },
};

describe('parseConfig', () => {
  it('accepts the built-in example', () => {
    const cfg = parseConfig(parseYaml(EXAMPLE_CONFIG_YAML));
    expect(Object.keys(cfg.routes)).toContain('gpt-4o-mini');
  });

  it('fills every timeout and retry default and trims trailing slashes of base URLs', () => {
    const cfg = parseConfig(valid);
    const route = cfg.routes['gpt-4o-mini']!;
    expect(route.strategy).toBe('fallback');
    expect(route.timeouts).toEqual({ firstByteMs: 30_000, idleMs: 30_000, totalMs: 600_000 });
    expect(route.retry).toEqual({ attempts: 2, initialBackoffMs: 500, maxBackoffMs: 8_000 });
    expect(baseUrlsOf(cfg.providers['relay-a']!)).toEqual([
      'https://a.example/v1',
      'https://a-backup.example/v1',
    ]);
  });

  it('fills a route default field by field', () => {
    const cfg = parseConfig({
      ...valid,
      routes: {
        r: {
          targets: [{ provider: 'relay-a', model: 'm' }],
          timeouts: { idleMs: 5 },
          retry: { attempts: 0 },
        },
      },
    });
    expect(cfg.routes.r?.timeouts).toEqual({ firstByteMs: 30_000, idleMs: 5, totalMs: 600_000 });
    expect(cfg.routes.r?.retry.attempts).toBe(0);
  });

  it('names the path of an unknown field', () => {
    const bad = { ...valid, routes: { r: { targets: [{ provider: 'relay-a', model: 'm', wieght: 2 }] } } };
    expect(issuesOf(bad).join('\n')).toMatch(/^routes\.r\.targets\.0: .*wieght/m);
  });

  it('names the path of a target whose provider does not exist', () => {
    const bad = { ...valid, routes: { r: { targets: [{ provider: 'relay-b', model: 'm' }] } } };
    expect(issuesOf(bad)).toContain('routes.r.targets.0.provider: unknown provider "relay-b"');
  });

  it('names the path of a bad base URL and of a bad timeout', () => {
    const bad = {
      providers: { p: { type: 'openai', baseUrls: ['not a url'] } },
      routes: { r: { targets: [{ provider: 'p', model: 'm' }], timeouts: { firstByteMs: -1 } } },
    };
    const issues = issuesOf(bad).join('\n');
    expect(issues).toMatch(/^providers\.p\.baseUrls\.0: /m);
    expect(issues).toMatch(/^routes\.r\.timeouts\.firstByteMs: /m);
  });

  it('requires baseUrls unless a preset gives them, and knows the openai preset', () => {
    expect(issuesOf({ providers: { p: { type: 'openai' } }, routes: {} })).toContain(
      'providers.p.baseUrls: required (no preset gives it)',
    );
    const cfg = parseConfig({ providers: { p: { type: 'openai', preset: 'openai' } }, routes: {} });
    expect(baseUrlsOf(cfg.providers.p!)).toEqual(['https://api.openai.com/v1']);
    expect(issuesOf({ providers: { p: { type: 'openai', preset: 'nope' } }, routes: {} })[0]).toMatch(
      /^providers\.p\.preset: unknown preset/,
    );
  });

  it('needs a type or a preset, a region for bedrock, and a type that matches the preset', () => {
    expect(issuesOf({ providers: { p: { baseUrls: ['https://x.example'] } }, routes: {} })).toContain(
      'providers.p.type: required (or a preset, which gives it)',
    );
    expect(issuesOf({ providers: { p: { type: 'bedrock' } }, routes: {} })).toContain(
      'providers.p.region: required for a bedrock provider',
    );
    expect(issuesOf({ providers: { p: { type: 'gemini', preset: 'openrouter' } }, routes: {} })).toContain(
      'providers.p.type: preset "openrouter" is of type openai, not gemini',
    );
    expect(
      issuesOf({ providers: { p: { preset: 'openai', billing: { type: 'invoice' } } }, routes: {} })[0],
    ).toMatch(/^providers\.p\.billing\.type: /);
  });

  it('gives native providers their public API host when the config names none', () => {
    const cfg = parseConfig({
      providers: {
        a: { type: 'anthropic' },
        g: { type: 'gemini' },
        b: { type: 'bedrock', region: 'eu-west-1' },
      },
      routes: {},
    });
    expect(baseUrlsOf(cfg.providers.a!)).toEqual(['https://api.anthropic.com/v1']);
    expect(baseUrlsOf(cfg.providers.g!)).toEqual(['https://generativelanguage.googleapis.com/v1beta']);
    expect(baseUrlsOf(cfg.providers.b!)).toEqual(['https://bedrock-runtime.eu-west-1.amazonaws.com']);
  });

  it('rejects an empty target list and an unknown strategy', () => {
    const issues = issuesOf({ ...valid, routes: { r: { strategy: 'random', targets: [] } } }).join('\n');
    expect(issues).toMatch(/^routes\.r\.strategy: /m);
    expect(issues).toMatch(/^routes\.r\.targets: /m);
  });
});

describe('provider ids', () => {
  it('are plain ASCII, since they go into headers and table keys', () => {
    const issues = issuesOf({ providers: { 中转: { type: 'mock' } }, routes: {} });
    expect(issues[0]).toMatch(/^providers\.中转: provider ids are 1-64 characters/);
    expect(() => parseConfig({ providers: { 'relay-a.v2_b': { type: 'mock' } }, routes: {} })).not.toThrow();
  });
});

describe('names that are built-in object properties', () => {
  const target = { targets: [{ provider: 'relay-a', model: 'm' }] };

  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'refuses "%s" as a route, provider or price',
    (name) => {
      expect(issuesOf({ ...valid, routes: { [name]: target } })).toEqual([
        `routes.${name}: "${name}" is a built-in property name of JavaScript objects; choose another name`,
      ]);
      expect(issuesOf({ providers: { [name]: { type: 'mock' } }, routes: {} })[0]).toMatch(
        new RegExp(`^providers\\.${name}: "${name}" is a built-in property name`),
      );
      expect(issuesOf({ ...valid, prices: { [name]: { input: 1, output: 1 } } })[0]).toMatch(/^prices\./);
    },
  );

  it('refuses __proto__ from YAML and from JSON, where it would set a prototype instead of a name', () => {
    expect(issuesOf(parseYaml('providers:\n  __proto__: {type: mock}\nroutes: {}\n'))[0]).toMatch(
      /^providers\.__proto__: /,
    );
    expect(issuesOf(JSON.parse('{"providers":{},"routes":{"__proto__":{"targets":[]}}}'))[0]).toMatch(
      /^routes\.__proto__: /,
    );
  });

  it('refuses a route name longer than a model name may be (256)', () => {
    expect(issuesOf({ ...valid, routes: { ['r'.repeat(257)]: target } })[0]).toMatch(
      /at most 256 characters/,
    );
    expect(() => parseConfig({ ...valid, routes: { ['r'.repeat(256)]: target } })).not.toThrow();
  });

  it('finds a target provider only as an own name', () => {
    const issues = issuesOf({ ...valid, routes: { r: { targets: [{ provider: 'toString', model: 'm' }] } } });
    expect(issues).toEqual(['routes.r.targets.0.provider: unknown provider "toString"']);
  });
});

describe('provider headers', () => {
  it('refuse a header that carries a credential: keys belong in the provider keys, which are masked', () => {
    for (const name of [
      'Authorization',
      'x-api-key',
      'api-key',
      'X-Auth-Token',
      'x-goog-api-key',
      'Cookie',
    ]) {
      const issues = issuesOf({
        providers: { a: { type: 'mock', headers: { [name]: 'secret-value-123' } } },
        routes: {},
      });
      expect(issues.join('\n')).toMatch(/a header that carries a credential/);
    }
    expect(() =>
      parseConfig({
        providers: { a: { type: 'mock', headers: { 'HTTP-Referer': 'https://my.app' } } },
        routes: {},
      }),
    ).not.toThrow();
  });
});
