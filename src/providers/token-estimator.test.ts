import { describe, expect, it } from 'vitest';
import { countTokens, estimatePromptTokens, estimateUsage, reportedUsage } from './token-estimator.ts';

describe('token estimator', () => {
  it('counts with a real tokenizer', async () => {
    expect(await countTokens('')).toBe(0);
    expect(await countTokens('Hello world')).toBe(2);
  });

  it('adds chat framing per message and for the reply', async () => {
    const messages = [{ role: 'user', content: 'Hello world' }];
    expect(await estimatePromptTokens(messages)).toBe(3 + 1 + 2 + 3);
    expect(await estimatePromptTokens(['Hello world', 'Hello'])).toBe(3);
  });

  it('keeps what the upstream reported and marks the result estimated', async () => {
    expect(reportedUsage(4, 5)).toEqual({ promptTokens: 4, completionTokens: 5, totalTokens: 9, estimated: false });
    expect(reportedUsage(4, undefined)).toBeUndefined();
    const usage = await estimateUsage('ignored', 'Hello world', { promptTokens: 7 });
    expect(usage).toEqual({ promptTokens: 7, completionTokens: 2, totalTokens: 9, estimated: true });
  });
});
