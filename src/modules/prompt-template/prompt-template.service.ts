import type { Kysely } from 'kysely';
import type { Database } from '../../database.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import { randomId } from '../../shared/ids.ts';
import { requirePlatformAdmin, requireTenantAdmin, requireTenantRead } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import type { CompletionCaller } from '../completion/index.ts';
import type { ChatInput } from '../completion/index.ts';
import { findTenantById } from '../tenant/index.ts';
import { findTemplate, insertNextVersion, latestTemplates, templateVersions } from './prompt-template.repository.ts';
import type { PromptTemplateRow } from './prompt-template.table.ts';
import { parseTemplateParameters, type TemplateParameters } from './template-parameters.ts';
import { checkVariables, render, variablesOf } from './template-text.ts';

export interface PromptTemplate {
  id: string;
  /** null: the platform's, offered to every tenant. */
  tenantId: string | null;
  name: string;
  version: number;
  system: string | null;
  user: string;
  model: string;
  parameters: TemplateParameters;
  /** The variables the messages use, in order of first use. */
  variables: string[];
  createdAt: Date;
}

export interface SaveTemplateInput {
  /** null: a platform template (platform admin only). */
  tenantId: string | null;
  name: string;
  system?: string | null;
  user: string;
  model: string;
  parameters?: unknown;
}

export interface RunTemplateInput {
  name: string;
  variables: Record<string, unknown>;
  /** A pinned version; the latest when absent. */
  version?: number;
  stream: boolean;
  cache?: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_TEXT = 100_000;

/**
 * Named, versioned prompt templates: the platform's, offered to every tenant, and each tenant's own,
 * which take precedence over a platform template of the same name. Running one renders its messages
 * and hands the completion service an ordinary chat request tagged with the template and version.
 */
export class PromptTemplateService {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Saves the template as the next version of its name (the first is version 1). */
  async save(principal: Principal, input: SaveTemplateInput): Promise<PromptTemplate> {
    if (input.tenantId === null) requirePlatformAdmin(principal);
    else {
      requireTenantAdmin(principal, input.tenantId);
      if (!(await findTenantById(this.#db, input.tenantId))) throw notFound('tenant', input.tenantId);
    }
    if (!NAME.test(input.name)) throw badInput('name must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit', { field: 'name' });
    if (input.model.trim() === '') throw badInput('model must name a model or route', { field: 'model' });
    const system = input.system ?? null;
    for (const [field, text] of [['user', input.user], ['system', system ?? '']] as const) {
      if (text.length > MAX_TEXT) throw badInput(`${field} is longer than ${MAX_TEXT} characters`, { field });
    }
    if (input.user.trim() === '') throw badInput('user must not be empty', { field: 'user' });
    if (system !== null) variablesOf(system, 'system');
    variablesOf(input.user, 'user');
    const parameters = parseTemplateParameters(input.parameters);
    const row = await insertNextVersion(this.#db, {
      id: `tpl_${randomId(16)}`,
      tenant_id: input.tenantId,
      name: input.name,
      system_message: system,
      user_message: input.user,
      model: input.model,
      parameters: JSON.stringify(parameters),
    });
    return toTemplate(row);
  }

  /** The templates a tenant may run (its own, and the platform's it has none of the same name of), or the platform's (tenantId null). */
  async list(principal: Principal, tenantId: string | null): Promise<PromptTemplate[]> {
    if (tenantId === null) {
      requirePlatformAdmin(principal);
      return (await latestTemplates(this.#db, null)).map(toTemplate);
    }
    requireTenantRead(principal, tenantId);
    const [own, platform] = await Promise.all([latestTemplates(this.#db, tenantId), latestTemplates(this.#db, null)]);
    const ownNames = new Set(own.map((row) => row.name));
    return [...own, ...platform.filter((row) => !ownNames.has(row.name))].map(toTemplate).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One template as a tenant (or, tenantId null, the platform) sees it: a version, else the latest. */
  async get(principal: Principal, tenantId: string | null, name: string, version?: number): Promise<PromptTemplate> {
    if (tenantId === null) requirePlatformAdmin(principal);
    else requireTenantRead(principal, tenantId);
    return toTemplate(await this.#resolve(tenantId, name, version));
  }

  /** Every version of the template the owner of `template` has under its name, newest first. */
  async versions(template: PromptTemplate): Promise<PromptTemplate[]> {
    return (await templateVersions(this.#db, template.tenantId, template.name)).map(toTemplate);
  }

  /** The chat request a run makes, and the caller tagged with the template it ran. */
  async prepareRun(caller: CompletionCaller, input: RunTemplateInput): Promise<{ caller: CompletionCaller; chat: ChatInput }> {
    const template = toTemplate(await this.#resolve(caller.tenantId, input.name, input.version));
    const values = checkVariables(template.variables, input.variables);
    const messages = [
      ...(template.system === null ? [] : [{ role: 'system', content: render(template.system, values) }]),
      { role: 'user', content: render(template.user, values) },
    ];
    const wire: Record<string, unknown> = { ...template.parameters, model: template.model, messages };
    // A stream asks the upstream for its usage, so the usage event has the upstream's counts.
    if (input.stream) Object.assign(wire, { stream: true, stream_options: { include_usage: true } });
    return {
      caller: { ...caller, template: { name: template.name, version: template.version } },
      chat: {
        model: template.model,
        messages,
        maxTokens: template.parameters.max_tokens,
        temperature: template.parameters.temperature,
        wire,
        cache: input.cache,
      },
    };
  }

  /** The tenant's own template of that name, else the platform's; NOT_FOUND when neither has it (or that version). */
  async #resolve(tenantId: string | null, name: string, version: number | undefined): Promise<PromptTemplateRow> {
    const own = await findTemplate(this.#db, tenantId, name, version);
    if (own) return own;
    // A tenant's template hides the platform's of the same name, every version of it.
    const hidden = tenantId === null || (version !== undefined && (await findTemplate(this.#db, tenantId, name)) !== undefined);
    const platform = hidden ? undefined : await findTemplate(this.#db, null, name, version);
    if (!platform) throw notFound('prompt template', version === undefined ? name : `${name}@${version}`);
    return platform;
  }
}

function toTemplate(row: PromptTemplateRow): PromptTemplate {
  const system = row.system_message;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    version: row.version,
    system,
    user: row.user_message,
    model: row.model,
    parameters: row.parameters,
    variables: [...new Set([...(system === null ? [] : variablesOf(system, 'system')), ...variablesOf(row.user_message, 'user')])],
    createdAt: row.created_at,
  };
}
