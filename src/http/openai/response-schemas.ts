// The answers' shapes for /v1/openapi.json, as OpenAI documents them. An OpenAI-compatible upstream's
// answer is relayed whole, so every object admits fields beyond those listed.

type Schema = Record<string, unknown>;

const open = (properties: Record<string, Schema>, required: string[] = []): Schema => ({ type: 'object', properties, required, additionalProperties: true });
const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });
const str = { type: 'string' };
const int = { type: 'integer' };

const usage = open(
  {
    prompt_tokens: int,
    completion_tokens: int,
    total_tokens: int,
    prompt_tokens_details: open({ cached_tokens: int }),
    completion_tokens_details: open({ reasoning_tokens: int }),
  },
  ['prompt_tokens', 'completion_tokens', 'total_tokens'],
);

const toolCall = open({ id: str, type: str, function: open({ name: str, arguments: { type: 'string', description: 'A JSON string' } }) });
const toolCallDelta = open({ index: int, id: str, type: str, function: open({ name: str, arguments: { type: 'string', description: 'A piece of the JSON string' } }) }, ['index']);

const logprobs = nullable(open({ content: nullable({ type: 'array', items: open({ token: str, logprob: { type: 'number' }, bytes: nullable({ type: 'array', items: int }), top_logprobs: { type: 'array' } }) }), refusal: nullable({ type: 'array' }) }));

const message = open({
  role: str,
  content: nullable(str),
  refusal: nullable(str),
  tool_calls: { type: 'array', items: toolCall },
  reasoning_content: { ...str, description: 'The reasoning, from upstreams that show it (vLLM, DeepSeek; Ollama thinking)' },
  reasoning: str,
  annotations: { type: 'array' },
  audio: nullable(open({})),
});

const delta = open({
  role: str,
  content: nullable(str),
  refusal: nullable(str),
  tool_calls: { type: 'array', items: toolCallDelta },
  reasoning_content: str,
  reasoning: str,
});

export const responseSchemas: Record<string, Schema> = {
  Feedback: open({ object: { const: 'feedback' }, request_id: str, metric: str, value: { type: 'number' } }, ['object', 'request_id', 'metric', 'value']),
  ChatCompletion: open(
    {
      id: str,
      object: { const: 'chat.completion' },
      created: int,
      model: { ...str, description: 'The name the client asked for' },
      system_fingerprint: nullable(str),
      choices: { type: 'array', items: open({ index: int, message, logprobs, finish_reason: nullable(str) }) },
      usage,
    },
    ['id', 'object', 'created', 'model', 'choices'],
  ),
  ChatCompletionChunk: open(
    {
      id: str,
      object: { const: 'chat.completion.chunk' },
      created: int,
      model: str,
      system_fingerprint: nullable(str),
      choices: { type: 'array', items: open({ index: int, delta, logprobs, finish_reason: nullable(str) }) },
      usage: { ...nullable(usage), description: 'Only on the last chunk, and only with stream_options.include_usage' },
    },
    ['id', 'object', 'created', 'model', 'choices'],
  ),
  Completion: open(
    {
      id: str,
      object: { const: 'text_completion' },
      created: int,
      model: str,
      choices: { type: 'array', items: open({ index: int, text: str, logprobs: nullable(open({})), finish_reason: nullable(str) }) },
      usage,
    },
    ['id', 'object', 'created', 'model', 'choices'],
  ),
  EmbeddingList: open(
    {
      object: { const: 'list' },
      model: str,
      data: { type: 'array', items: open({ object: { const: 'embedding' }, index: int, embedding: { anyOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string', description: 'base64 float32' }] } }) },
      usage: open({ prompt_tokens: int, total_tokens: int }),
    },
    ['object', 'data', 'model', 'usage'],
  ),
  Response: open(
    {
      id: str,
      object: { const: 'response' },
      created_at: int,
      status: { enum: ['completed', 'incomplete', 'in_progress'] },
      model: str,
      output: { type: 'array', items: { anyOf: [open({ type: { const: 'message' }, id: str, role: str, content: { type: 'array' } }), open({ type: { const: 'function_call' }, id: str, call_id: str, name: str, arguments: str })] } },
      usage: nullable(open({ input_tokens: int, input_tokens_details: open({ cached_tokens: int }), output_tokens: int, output_tokens_details: open({ reasoning_tokens: int }), total_tokens: int })),
    },
    ['id', 'object', 'created_at', 'status', 'model', 'output'],
  ),
  Model: open({ id: str, object: { const: 'model' }, created: int, owned_by: str }, ['id', 'object', 'created', 'owned_by']),
  ModelList: open({ object: { const: 'list' }, data: { type: 'array', items: { $ref: '#/components/schemas/Model' } } }, ['object', 'data']),
};
