import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, asAdmin, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// docs/openai-compatibility.md's table of chat request fields, held to what the gateway does: each row
// is sent to an OpenAI-compatible upstream and to Ollama, and its GraphQL name looked up in the schema.

interface Row {
  field: string;
  openAi: string;
  ollama: string;
  graphql: string;
}

function requestFieldRows(): Row[] {
  const doc = readFileSync(new URL('../../docs/openai-compatibility.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Chat request fields'), doc.indexOf('## Messages'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [field, openAi, ollama, graphql] = line.split('|').slice(1, -1).map((cell) => cell.trim().replaceAll('`', ''));
      return { field: field!, openAi: openAi!, ollama: ollama!, graphql: graphql! };
    });
}

/** A value each field is sent with; a row without one fails, so a new row needs a sample here. */
const samples: Record<string, unknown> = {
  max_tokens: 3,
  max_completion_tokens: 3,
  temperature: 0.5,
  top_p: 0.9,
  stop: ['\n\n'],
  seed: 42,
  presence_penalty: 0.5,
  frequency_penalty: 0.25,
  top_k: 20,
  min_p: 0.05,
  repetition_penalty: 1.1,
  tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
  tool_choice: 'auto',
  response_format: { type: 'json_object' },
  n: 2,
  logprobs: true,
  top_logprobs: 2,
  parallel_tool_calls: false,
  user: 'end-user',
  metadata: { team: 'a' },
  service_tier: 'auto',
  reasoning_effort: 'low',
  modalities: ['text'],
  prediction: { type: 'content', content: 'hello' },
  chat_template_kwargs: { enable_thinking: false },
};

function at(body: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], body);
}

describe('the OpenAI compatibility table', () => {
  const rows = requestFieldRows();
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let tenantId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 2 } });
    gateway = await startTestApp({
      inference: {
        providers: [
          { name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl },
          { name: 'local', type: 'ollama', baseUrl: upstream.url },
        ],
        models: [
          { name: 'compatible', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream', weight: 1 }] },
          { name: 'ollama', kind: 'chat', deployments: [{ provider: 'local', model: 'llama', weight: 1 }] },
        ],
      },
    });
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Table Co', plan: 'enterprise' } })).createTenant.tenant.id;
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const chat = (model: string, field: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...asAdmin(tenantId) },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], [field]: samples[field] }),
    });

  it('lists the fields, each with a sample to send', () => {
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) expect(samples, row.field).toHaveProperty(row.field);
  });

  it('passes every field through to an OpenAI-compatible upstream as it was sent', async () => {
    for (const row of rows) {
      expect(row.openAi, row.field).toBe('passed through');
      const response = await chat('compatible', row.field);
      expect(response.status, row.field).toBe(200);
      expect(at(upstream.requests.at(-1)?.body, row.field), row.field).toEqual(samples[row.field]);
    }
  });

  it('sends each field to Ollama where the table says, or refuses it naming the field', async () => {
    for (const row of rows) {
      const calls = upstream.requests.length;
      const response = await chat('ollama', row.field);
      if (row.ollama === 'refused') {
        expect(response.status, row.field).toBe(400);
        const body = (await response.json()) as { error: { type: string; message: string } };
        expect(body.error.type, row.field).toBe('invalid_request_error');
        expect(body.error.message.startsWith(`${row.field}:`), row.field).toBe(true);
        expect(upstream.requests.length, row.field).toBe(calls);
        continue;
      }
      expect(response.status, row.field).toBe(200);
      const received = upstream.requests.at(-1)?.body as Record<string, unknown>;
      if (row.ollama === 'not sent') expect(received, row.field).not.toHaveProperty(row.field);
      else expect(at(received, row.ollama), row.field).toBeDefined();
    }
  });

  it('describes the answers in /v1/openapi.json, tool calls and reasoning included', async () => {
    const doc = (await (await fetch(`${gateway.url}/v1/openapi.json`)).json()) as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    const message = at(doc.components.schemas, 'ChatCompletion.properties.choices.items.properties.message.properties');
    expect(Object.keys(message as object)).toEqual(expect.arrayContaining(['content', 'tool_calls', 'refusal', 'reasoning_content']));
    expect(at(doc.paths, '/v1/chat/completions.post.responses.200.content.application/json.schema')).toEqual({ $ref: '#/components/schemas/ChatCompletion' });
    expect(doc.paths).toHaveProperty(['/v1/models/{id}']);
  });

  it('names GraphQL fields that ChatCompletionInput has', async () => {
    const result = await graphqlRequest<{ __type: { inputFields: { name: string }[] } }>(gateway.url, '{ __type(name: "ChatCompletionInput") { inputFields { name } } }', {}, asAdmin());
    const names = result.data!.__type.inputFields.map((field) => field.name);
    for (const row of rows) {
      if (row.graphql !== '—') expect(names, row.field).toContain(row.graphql);
    }
  });
});
