// The prompt-template module's door: what other modules and the app may use. Everything else in the folder is private.
export { PromptTemplateService } from './prompt-template.service.ts';
export type { PromptTemplateTable } from './prompt-template.table.ts';
