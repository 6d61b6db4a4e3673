import { describe, expect, it } from 'vitest';
import {
  BEDROCK_ANTHROPIC_VERSION,
  BEDROCK_BETAS,
  bedrockInvokePath,
  bedrockMessagesBody,
  isClaudeOnBedrock,
} from '../../../../functions/core/endpoints/messages/bedrock.ts';

describe('isClaudeOnBedrock', () => {
  it.each([
    'anthropic.claude-3-haiku-20240307-v1:0',
    'anthropic.claude-sonnet-4-5-20250929-v1:0',
    'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    'eu.anthropic.claude-3-7-sonnet-20250219-v1:0',
    'apac.anthropic.claude-sonnet-4-20250514-v1:0',
    'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
    'us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0',
    'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0',
  ])('knows %s as Claude', (id) => {
    expect(isClaudeOnBedrock(id)).toBe(true);
  });

  it.each([
    'amazon.nova-pro-v1:0',
    'meta.llama3-70b-instruct-v1:0',
    'us.meta.llama3-2-90b-instruct-v1:0',
    'mistral.mistral-large-2402-v1:0',
    'anthropic.claude', // no version part: not a model id
    'my-anthropic.claude-3-haiku', // not a region prefix
    'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123', // names no model
    `us.anthropic.claude-${'x'.repeat(600)}`,
  ])('does not take %s for Claude', (id) => {
    expect(isClaudeOnBedrock(id)).toBe(false);
  });
});

describe('bedrockMessagesBody', () => {
  it('adds anthropic_version first, moves beta flags into anthropic_beta, and drops model and stream', () => {
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
      thinking: { type: 'enabled', budget_tokens: 2048 },
    };
    const out = bedrockMessagesBody(body, {
      client: 'interleaved-thinking-2025-05-14, token-efficient-tools-2025-02-19',
    });
    expect(out.body).toEqual({
      anthropic_version: BEDROCK_ANTHROPIC_VERSION,
      anthropic_beta: ['interleaved-thinking-2025-05-14', 'token-efficient-tools-2025-02-19'],
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    expect(out.dropped).toEqual([]);
    expect(Object.keys(out.body)[0]).toBe('anthropic_version');
    expect(body.model).toBe('claude-sonnet-4-5'); // the client's body is not changed
  });

  it('sends no anthropic_beta without flags, and keeps each flag once', () => {
    const empty = { max_tokens: 1, messages: [] };
    expect(bedrockMessagesBody(empty).body).not.toHaveProperty('anthropic_beta');
    expect(bedrockMessagesBody(empty, { client: ' , ', operator: '' }).body).not.toHaveProperty(
      'anthropic_beta',
    );
    const twice = bedrockMessagesBody(
      { ...empty, anthropic_beta: ['effort-2025-11-24'] },
      { client: 'effort-2025-11-24,context-1m-2025-08-07', operator: 'context-1m-2025-08-07' },
    );
    expect(twice.body.anthropic_beta).toEqual(['effort-2025-11-24', 'context-1m-2025-08-07']);
  });

  it('drops the client’s flags Bedrock does not document (Claude Code’s first-party ones) and names each once', () => {
    const claudeCode = [
      'claude-code-20250219',
      'oauth-2025-04-20',
      'interleaved-thinking-2025-05-14',
      'fine-grained-tool-streaming-2025-05-14',
      'prompt-caching-2024-07-31',
      'files-api-2025-04-14',
      'context-1m-2025-08-07',
    ].join(',');
    const out = bedrockMessagesBody(
      { anthropic_beta: ['oauth-2025-04-20', 'computer-use-2025-01-24'], max_tokens: 1, messages: [] },
      { client: claudeCode },
    );
    expect(out.body.anthropic_beta).toEqual([
      'computer-use-2025-01-24',
      'interleaved-thinking-2025-05-14',
      'context-1m-2025-08-07',
    ]);
    expect(out.dropped).toEqual([
      'oauth-2025-04-20',
      'claude-code-20250219',
      'fine-grained-tool-streaming-2025-05-14',
      'prompt-caching-2024-07-31',
      'files-api-2025-04-14',
    ]);
  });

  it('compares flags exactly, as Bedrock does', () => {
    const out = bedrockMessagesBody(
      { max_tokens: 1, messages: [] },
      { client: 'Interleaved-Thinking-2025-05-14' },
    );
    expect(out.body).not.toHaveProperty('anthropic_beta');
    expect(out.dropped).toEqual(['Interleaved-Thinking-2025-05-14']);
  });

  it('keeps the operator’s configured flags as they are, and a client flag the operator configured too', () => {
    const out = bedrockMessagesBody(
      { max_tokens: 1, messages: [] },
      {
        client: 'prompt-caching-2024-07-31, claude-code-20250219',
        operator: 'prompt-caching-2024-07-31,x-beta',
      },
    );
    expect(BEDROCK_BETAS.has('prompt-caching-2024-07-31')).toBe(false);
    expect(out.body.anthropic_beta).toEqual(['prompt-caching-2024-07-31', 'x-beta']);
    expect(out.dropped).toEqual(['claude-code-20250219']);
  });
});

describe('bedrockInvokePath', () => {
  it('names the operation the transport reads', () => {
    expect(bedrockInvokePath('us.anthropic.claude-3-5-haiku-20241022-v1:0', false)).toBe(
      '/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke',
    );
    expect(bedrockInvokePath('anthropic.claude-x', true)).toBe(
      '/model/anthropic.claude-x/invoke-with-response-stream',
    );
  });
});
