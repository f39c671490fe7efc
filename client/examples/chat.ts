// Streams a chat completion into the terminal over graphql-ws.
//   TOLLGATE_URL=http://127.0.0.1:8000 TOLLGATE_API_KEY=tg_... node client/examples/chat.ts "Write a haiku about gateways"
import { createTollgateClient, TollgateError } from '../src/index.ts';

const url = process.env.TOLLGATE_URL ?? 'http://127.0.0.1:8000';
const apiKey = process.env.TOLLGATE_API_KEY;
const model = process.env.TOLLGATE_MODEL ?? 'qwen2.5-coder-7b';
const prompt = process.argv.slice(2).join(' ') || 'Say hello in five words.';

if (!apiKey) {
  console.error('Set TOLLGATE_API_KEY to a tenant API key (tg_...).');
  process.exit(2);
}

const client = createTollgateClient({ url, apiKey });
try {
  for await (const chunk of client.streamCompletion({ model, messages: [{ role: 'user', content: prompt }] })) {
    process.stdout.write(chunk.delta);
    if (chunk.usage) process.stdout.write(`\n\n[${chunk.finishReason}] ${chunk.usage.promptTokens} prompt + ${chunk.usage.completionTokens} completion tokens\n`);
  }
} catch (error) {
  console.error(error instanceof TollgateError ? `\n${error.code}: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  await client.close();
}
