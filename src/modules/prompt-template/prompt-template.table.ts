import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { TemplateParameters } from './template-parameters.ts';

/** One version of a named template; a new version is a new row. */
export interface PromptTemplateTable {
  id: string;
  /** null: the platform's, offered to every tenant. */
  tenant_id: string | null;
  name: string;
  version: number;
  system_message: string | null;
  user_message: string;
  /** The model or route name the template asks for. */
  model: string;
  /** OpenAI request fields (temperature, max_tokens...); JSON text on the way in. */
  parameters: ColumnType<TemplateParameters, string, string>;
  created_at: Generated<Date>;
}

export type PromptTemplateRow = Selectable<PromptTemplateTable>;
export type NewPromptTemplate = Insertable<PromptTemplateTable>;
