// The model-catalog module's door. It only registers GraphQL types and fields (through src/schema.ts),
// so nothing else may use anything of it.
export {};
