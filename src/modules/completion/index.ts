// The completion module's door: what other modules and the app may use. Everything else in the folder is private.
export { completionCaller } from './completion-caller.ts';
export type { CompletionCaller } from './completion-caller.ts';
export type { CompletionStream } from './completion-stream.ts';
export { CompletionService } from './completion.service.ts';
export type { ChatInput, CompletionResult, TextCompletionInput } from './completion.service.ts';
export type { Admission, AdmissionRequest, RequestGate, SettleOptions } from './request-gate.ts';
export { MemoryResponseCache, RedisResponseCache } from './response-cache.ts';
export { createResponseCache } from './response-cache-levels.ts';
export type { ResponseCacheTable } from './response-cache.table.ts';
