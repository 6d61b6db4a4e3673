import { describe, expect, it } from 'vitest';
import {
  BEDROCK_ANTHROPIC_VERSION,
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
    const out = bedrockMessagesBody(
      body,
      'interleaved-thinking-2025-05-14, token-efficient-tools-2025-02-19',
    );
    expect(out).toEqual({
      anthropic_version: BEDROCK_ANTHROPIC_VERSION,
      anthropic_beta: ['interleaved-thinking-2025-05-14', 'token-efficient-tools-2025-02-19'],
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    expect(Object.keys(out)[0]).toBe('anthropic_version');
    expect(body.model).toBe('claude-sonnet-4-5'); // the client's body is not changed
  });

  it('sends no anthropic_beta without flags, and keeps each flag once', () => {
    expect(bedrockMessagesBody({ max_tokens: 1, messages: [] })).not.toHaveProperty('anthropic_beta');
    expect(bedrockMessagesBody({ max_tokens: 1, messages: [] }, ' , ')).not.toHaveProperty('anthropic_beta');
    expect(
      bedrockMessagesBody({ anthropic_beta: ['a'], max_tokens: 1, messages: [] }, 'a,b').anthropic_beta,
    ).toEqual(['a', 'b']);
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
