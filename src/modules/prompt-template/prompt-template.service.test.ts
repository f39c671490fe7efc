import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigrated, sqlDialects } from '../../../test/testkit/sql-databases.ts';
import { randomId } from '../../shared/ids.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import type { Principal } from '../identity/principal.ts';
import { insertTenant } from '../tenant/tenant.repository.ts';
import { PromptTemplateService } from './prompt-template.service.ts';

const platform: Principal = { kind: 'platform', tenantId: undefined, userId: undefined };
const caller = (tenantId: string) => ({ tenantId, userId: null, apiKeyId: null, requestId: `req-${randomId(8)}` });

describe.each(sqlDialects())('PromptTemplateService on $name', (dialect) => {
  let db: SqlDatabase;
  let dispose: () => Promise<void>;
  let service: PromptTemplateService;
  let tenantId: string;

  beforeAll(async () => {
    const opened = await openMigrated(dialect);
    db = opened.handle.db;
    dispose = opened.dispose;
    service = new PromptTemplateService(db);
    tenantId = (await insertTenant(db, { id: `tnt_${randomId(12)}`, name: 'Templates', plan_id: 'pro' })).id;
  }, 60_000);
  afterAll(async () => {
    await dispose?.();
  });

  it('numbers concurrent saves of one name 1, 2, 3... without a gap or a repeat', async () => {
    const saves = await Promise.all(
      Array.from({ length: 6 }, (_, i) => service.save(platform, { tenantId, name: 'racy', user: `take ${i}: {{x}}`, model: 'm' })),
    );
    expect(saves.map((t) => t.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await service.get(platform, tenantId, 'racy')).version).toBe(6);
  });

  it("keeps each owner's numbering apart: the platform's and a tenant's template of one name", async () => {
    await service.save(platform, { tenantId: null, name: 'shared-name', user: 'platform {{x}}', model: 'm' });
    const own = await service.save(platform, { tenantId, name: 'shared-name', user: 'own {{x}}', model: 'm' });
    expect(own.version).toBe(1);
    expect((await service.get(platform, null, 'shared-name')).user).toBe('platform {{x}}');
  });

  it('renders a run: values inserted as they are, parameters as the request, tagged with the version', async () => {
    await service.save(platform, { tenantId: null, name: 'render', system: 'Reply in {{lang}}.', user: '{{ q }} and {{q}}', model: 'chat', parameters: { temperature: 0, max_tokens: 9 } });
    const run = await service.prepareRun(caller(tenantId), { name: 'render', variables: { lang: 'French', q: '{{lang}} $& 42' }, stream: true });
    expect(run.caller.template).toEqual({ name: 'render', version: 1 });
    expect(run.chat).toMatchObject({
      model: 'chat',
      temperature: 0,
      maxTokens: 9,
      messages: [
        { role: 'system', content: 'Reply in French.' },
        { role: 'user', content: '{{lang}} $& 42 and {{lang}} $& 42' },
      ],
      wire: { model: 'chat', temperature: 0, max_tokens: 9, stream: true, stream_options: { include_usage: true } },
    });
  });

  it('names a missing version, and does not fall back to the platform past a tenant template of the name', async () => {
    await expect(service.prepareRun(caller(tenantId), { name: 'shared-name', variables: { x: 1 }, version: 7, stream: false })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'prompt template "shared-name@7" was not found',
    });
  });
});
