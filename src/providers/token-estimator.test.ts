import { describe, expect, it } from 'vitest';
import { countTokens, estimatePromptTokens, estimateUsage, promptTokensBySize, reportedUsage } from './token-estimator.ts';

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

  it('estimates a prompt for rate limits from its UTF-8 size, four bytes a token, with the same chat framing', async () => {
    expect(promptTokensBySize('')).toBe(0);
    expect(promptTokensBySize('Hello world')).toBe(3);
    // Three bytes a character in UTF-8: 12 bytes.
    expect(promptTokensBySize('网关计量')).toBe(3);
    expect(promptTokensBySize(['Hello world', 'Hello'])).toBe(3 + 2);
    expect(promptTokensBySize([{ role: 'user', content: 'Hello world' }])).toBe(3 + 1 + 3 + 3);
    // An estimate: plain English of common words runs over the tokenizer's count, by about a third here.
    const prose = 'The gateway authenticates every caller, routes each request to a healthy backend and meters it exactly once. '.repeat(20);
    const ratio = promptTokensBySize(prose) / (await countTokens(prose));
    expect(ratio).toBeGreaterThan(1);
    expect(ratio).toBeLessThan(1.5);
  });

  it('counts text parts by size, images by detail, and tool calls and results in the history', () => {
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(40_000)}` } };
    const parts = [{ role: 'user', content: [{ type: 'text', text: 'Hello world' }, image, { ...image, image_url: { ...image.image_url, detail: 'low' } }] }];
    // The data URL's 40 KB do not count: an image reserves a bounded number of tokens.
    expect(promptTokensBySize(parts)).toBe(3 + 1 + 3 + 1_105 + 85 + 3);
    const toolCalls = [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }];
    const history = [
      { role: 'assistant', content: null, tool_calls: toolCalls },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ];
    const expected = 3 + 3 + Math.ceil(JSON.stringify(toolCalls).length / 4) + (3 + 1 + 2 + 2) + 3;
    expect(promptTokensBySize(history)).toBe(expected);
  });

  it('keeps what the upstream reported and marks the result estimated', async () => {
    expect(reportedUsage(4, 5)).toEqual({ promptTokens: 4, completionTokens: 5, totalTokens: 9, estimated: false });
    expect(reportedUsage(4, undefined)).toBeUndefined();
    const usage = await estimateUsage('ignored', 'Hello world', { promptTokens: 7 });
    expect(usage).toEqual({ promptTokens: 7, completionTokens: 2, totalTokens: 9, estimated: true });
  });
});
