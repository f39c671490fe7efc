import { z } from 'zod';
import { responseSchemas } from './response-schemas.ts';
import { responsesRequestSchema } from './responses-request.ts';
import { chatCompletionRequestSchema, completionRequestSchema, embeddingRequestSchema } from './request-schemas.ts';
import { feedbackRequestSchema } from './feedback.ts';
import { templateRunRequestSchema } from './template-run.ts';

// Built from the zod schemas that validate requests, so the document cannot drift from the code.

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type', 'param', 'code'],
      properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: 'string' } },
    },
  },
};

const errorResponses = Object.fromEntries(
  [
    ['400', 'Invalid request'],
    ['401', 'Missing, unknown, expired or revoked credentials'],
    ['403', 'The credentials may not do this'],
    ['404', 'Unknown model'],
    ['413', 'Request body over the limit'],
    ['429', 'Rate limit or quota exceeded (see Retry-After)'],
    ['502', 'The upstream failed'],
    ['503', 'No healthy upstream'],
    ['504', 'The upstream timed out'],
  ].map(([status, description]) => [status, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]),
);

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function postOperation(summary: string, schemaName: string, answer: string, streamed?: string) {
  const streams = streamed !== undefined;
  return {
    summary,
    security: [{ bearer: [] }],
    requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } } },
    responses: {
      '200': {
        description: streams ? 'The result as JSON, or with "stream": true a text/event-stream' : 'The result',
        content: {
          'application/json': { schema: ref(answer) },
          ...(streams ? { 'text/event-stream': { schema: { type: 'string', description: streamed } } } : {}),
        },
      },
      ...errorResponses,
    },
  };
}

/** One operation of the document, as a route of the route table carries it. */
export type OpenApiOperation = Record<string, unknown>;

const bearer = [{ bearer: [] }];

/** The operations of the /v1 routes; the route table says which route serves each. */
export const openApiOperations = {
  chatCompletions: postOperation('Create a chat completion', 'ChatCompletionRequest', 'ChatCompletion', '"data: " frames of ChatCompletionChunk, then "data: [DONE]"'),
  completions: postOperation('Create a text completion', 'CompletionRequest', 'Completion', '"data: " frames of Completion, then "data: [DONE]"'),
  responses: postOperation('Create a response (served through Chat Completions)', 'ResponsesRequest', 'Response', '"event:" and "data:" frames of the Responses API events, ending with response.completed'),
  embeddings: postOperation('Create embeddings', 'EmbeddingRequest', 'EmbeddingList'),
  listModels: {
    summary: "The models the caller's tenant may use",
    security: bearer,
    responses: { '200': { description: 'A list of models', content: { 'application/json': { schema: ref('ModelList') } } }, ...errorResponses },
  },
  retrieveModel: {
    summary: 'One model the tenant may use',
    security: bearer,
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'May hold slashes' }],
    responses: { '200': { description: 'The model', content: { 'application/json': { schema: ref('Model') } } }, ...errorResponses },
  },
  usageExport: {
    summary: "The tenant's usage events or report buckets for a range, streamed",
    security: bearer,
    parameters: [
      { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
      { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date-time' }, description: 'Exclusive end of the range' },
      { name: 'type', in: 'query', schema: { type: 'string', enum: ['events', 'buckets'], default: 'events' } },
      { name: 'format', in: 'query', schema: { type: 'string', enum: ['csv', 'json', 'ndjson'], default: 'csv' } },
      { name: 'groupBy', in: 'query', schema: { type: 'string' }, description: 'For buckets: hour, day, month, model, provider, api_key or user' },
      { name: 'tenantId', in: 'query', schema: { type: 'string' }, description: 'The platform admin names the tenant' },
    ],
    responses: { '200': { description: 'CSV, a JSON array or NDJSON, streamed' }, ...errorResponses },
  },
  templateRun: {
    ...postOperation('Run a prompt template with its variables (a chat completion)', 'TemplateRunRequest', 'ChatCompletion', '"data: " frames of ChatCompletionChunk, the last with usage, then "data: [DONE]"'),
    parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: "The template's name: the tenant's own, else the platform's." }],
  },
  feedback: postOperation("Rate one of the tenant's requests, for experiment results", 'FeedbackRequest', 'Feedback'),
  tenantUsage: { summary: "The caller's tenant: current period usage, limits, remaining, reset time", security: bearer, responses: { '200': { description: 'Usage of the current period' }, ...errorResponses } },
} satisfies Record<string, OpenApiOperation>;

/** The document, its paths from the routes that carry an operation: { path: { method: operation } }. */
export function buildOpenApiDocument(paths: Record<string, Record<string, OpenApiOperation>>): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Tollgate OpenAI-compatible API', version: '1.0.0', description: 'The /v1 shim: OpenAI wire format over the gateway.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A tenant API key (tg_...), a dashboard JWT, or the platform admin key with X-Tenant-ID' } },
      schemas: {
        ChatCompletionRequest: jsonSchema(chatCompletionRequestSchema),
        CompletionRequest: jsonSchema(completionRequestSchema),
        EmbeddingRequest: jsonSchema(embeddingRequestSchema),
        ResponsesRequest: jsonSchema(responsesRequestSchema),
        TemplateRunRequest: jsonSchema(templateRunRequestSchema),
        FeedbackRequest: jsonSchema(feedbackRequestSchema),
        ...responseSchemas,
        Error: errorSchema,
      },
    },
    paths,
  };
}
