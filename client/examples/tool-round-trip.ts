// A tool round trip through GraphQL: the model asks for a tool, the tool's answer goes back, the model
// answers in words. The call is streamed over graphql-ws; its arguments arrive in pieces.
//   TOLLGATE_URL=http://127.0.0.1:8000 TOLLGATE_API_KEY=tg_... node client/examples/tool-round-trip.ts "Weather in Oslo?"
import { CreateChatCompletionDocument, createTollgateClient, TollgateError, type ChatMessageInput } from '../src/index.ts';

const url = process.env.TOLLGATE_URL ?? 'http://127.0.0.1:8000';
const apiKey = process.env.TOLLGATE_API_KEY;
const model = process.env.TOLLGATE_MODEL ?? 'qwen2.5-coder-7b';
const question = process.argv.slice(2).join(' ') || 'What is the weather in Oslo?';

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** The tool itself: a stand-in for a real weather service. */
function getWeather(args: { city?: string }): string {
  return JSON.stringify({ city: args.city ?? 'unknown', celsius: 4, sky: 'overcast' });
}

if (!apiKey) {
  console.error('Set TOLLGATE_API_KEY to a tenant API key (tg_...).');
  process.exit(2);
}

const client = createTollgateClient({ url, apiKey });
try {
  const messages: ChatMessageInput[] = [{ role: 'user', content: question }];
  // Pieces with the same index make one call: the first carries its id and name.
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  for await (const chunk of client.streamCompletion({ model, messages, tools: [weatherTool] })) {
    process.stdout.write(chunk.delta);
    for (const piece of chunk.toolCalls ?? []) {
      const call = calls.get(piece.index) ?? { id: '', name: '', arguments: '' };
      call.id ||= piece.id ?? '';
      call.name ||= piece.function?.name ?? '';
      call.arguments += piece.function?.arguments ?? '';
      calls.set(piece.index, call);
    }
  }
  if (calls.size === 0) {
    process.stdout.write('\n(the model answered without the tool)\n');
  } else {
    messages.push({ role: 'assistant', toolCalls: [...calls.values()].map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })) });
    for (const call of calls.values()) {
      process.stdout.write(`[tool] ${call.name}(${call.arguments})\n`);
      messages.push({ role: 'tool', toolCallId: call.id, content: getWeather(JSON.parse(call.arguments) as { city?: string }) });
    }
    const { createChatCompletion: answer } = await client.execute(CreateChatCompletionDocument, { input: { model, messages, tools: [weatherTool] } });
    process.stdout.write(`${answer.content}\n\n[${answer.finishReason}] ${answer.usage.totalTokens} tokens\n`);
  }
} catch (error) {
  console.error(error instanceof TollgateError ? `\n${error.code}: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  await client.close();
}
