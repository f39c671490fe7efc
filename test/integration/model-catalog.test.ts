import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInferenceFile } from '../../src/config.ts';
import { ForbiddenError } from '../../client/src/errors.ts';
import { CreateApiKeyDocument, CreateTenantDocument, ModelsDocument, ProvidersDocument, UpdateInferenceConfigDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, startTestApp, testClient, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

const yaml = (baseUrl: string, models: string[]) => `providers:
  - { name: gpu-a, type: openai, baseUrl: ${baseUrl} }
models:
${models.map((name) => `  - name: ${name}\n    deployments: [{ provider: gpu-a, model: upstream-${name} }]\n    price: { inputPerMillion: "3.00", outputPerMillion: "6.00", currency: USD }`).join('\n')}
routing: { strategy: round-robin, healthCheckIntervalMs: 60000 }
`;

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('model catalogue, provider health and config reload', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let path: string;

  const modelNames = async () => (await adminClient(gateway.url).execute(ModelsDocument)).models.map((m) => m.name).sort();

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    path = join(mkdtempSync(join(tmpdir(), 'tollgate-reload-')), 'tollgate.yaml');
    writeFileSync(path, yaml(upstream.openaiBaseUrl, ['alpha']));
    gateway = await startTestApp({ inference: loadInferenceFile(path), config: { configPath: path } });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('lists models with their prices', async () => {
    const { models } = await adminClient(gateway.url).execute(ModelsDocument);
    expect(models).toEqual([
      { name: 'alpha', servedBy: 'alpha', kind: 'chat', contextWindow: null, available: true, price: { inputPerMillion: '3.00', outputPerMillion: '6.00', currency: 'USD' } },
    ]);
  });

  it('shows deployment health to the platform admin only', async () => {
    const admin = adminClient(gateway.url);
    const { providers } = await admin.execute(ProvidersDocument);
    expect(providers).toEqual([expect.objectContaining({ name: 'gpu-a/upstream-alpha', breaker: 'CLOSED', healthy: true })]);
    const { createTenant } = await admin.execute(CreateTenantDocument, { input: { name: 'T' } });
    const { createApiKey } = await admin.execute(CreateApiKeyDocument, { input: { tenantId: createTenant.tenant.id, name: 'app' } });
    await expect(testClient(gateway.url, { apiKey: createApiKey.secret }).execute(ProvidersDocument)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('applies a valid change of the file and refuses an invalid one, keeping the running config', async () => {
    writeFileSync(path, yaml(upstream.openaiBaseUrl, ['alpha', 'beta']));
    await eventually(async () => (await modelNames()).includes('beta'));
    writeFileSync(path, 'providers: [ { name: broken');
    await eventually(async () => gateway.logs.some((line) => line.includes('inference config change refused')));
    expect(await modelNames()).toEqual(['alpha', 'beta']);
  });

  it('checks model overrides against the reloaded models', async () => {
    const admin = adminClient(gateway.url);
    const { createTenant } = await admin.execute(CreateTenantDocument, { input: { name: 'Overrides' } });
    const override = (target: string) =>
      admin.execute(UpdateInferenceConfigDocument, { input: { tenantId: createTenant.tenant.id, modelOverrides: [{ model: 'house', target }] } });
    writeFileSync(path, yaml(upstream.openaiBaseUrl, ['alpha', 'gamma']));
    await eventually(async () => (await modelNames()).includes('gamma'));
    expect((await override('gamma')).updateInferenceConfig.inferenceConfig.modelOverrides).toEqual([{ model: 'house', target: 'gamma' }]);
    writeFileSync(path, yaml(upstream.openaiBaseUrl, ['gamma']));
    await eventually(async () => !(await modelNames()).includes('alpha'));
    await expect(override('alpha')).rejects.toThrow('unknown model "alpha" (configured: gamma)');
  });
});
