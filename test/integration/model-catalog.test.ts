import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInferenceFile } from '../../src/config.ts';
import { asAdmin, bearer, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';
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

  const modelNames = async () => {
    const result = await graphqlRequest<{ models: { name: string; price: { inputPerMillion: string } | null }[] }>(gateway.url, '{ models { name price { inputPerMillion } } }', {}, asAdmin());
    return result.data!.models.map((m) => m.name).sort();
  };

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
    const result = await graphqlRequest<{ models: unknown[] }>(gateway.url, '{ models { name kind available price { inputPerMillion outputPerMillion currency } } }', {}, asAdmin());
    expect(result.data?.models).toEqual([{ name: 'alpha', kind: 'chat', available: true, price: { inputPerMillion: '3.00', outputPerMillion: '6.00', currency: 'USD' } }]);
  });

  it('shows deployment health to the platform admin only', async () => {
    const result = await graphqlRequest<{ providers: { name: string; breaker: string; healthy: boolean | null }[] }>(gateway.url, '{ providers { name provider breaker healthy inflight } }', {}, asAdmin());
    expect(result.data?.providers).toEqual([expect.objectContaining({ name: 'gpu-a/upstream-alpha', breaker: 'CLOSED', healthy: true })]);
    const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(gateway.url, 'mutation { createTenant(input: { name: "T" }) { tenant { id } } }', {}, asAdmin());
    const key = await graphqlRequest<{ createApiKey: { secret: string } }>(
      gateway.url,
      'mutation($tenantId: ID!) { createApiKey(input: { tenantId: $tenantId, name: "app" }) { secret } }',
      { tenantId: created.data!.createTenant.tenant.id },
      asAdmin(),
    );
    const asTenant = await graphqlRequest(gateway.url, '{ providers { name } }', {}, bearer(key.data!.createApiKey.secret));
    expect(asTenant.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(asTenant.data).toBeNull();
  });

  it('applies a valid change of the file and refuses an invalid one, keeping the running config', async () => {
    writeFileSync(path, yaml(upstream.openaiBaseUrl, ['alpha', 'beta']));
    await eventually(async () => (await modelNames()).includes('beta'));
    writeFileSync(path, 'providers: [ { name: broken');
    await eventually(async () => gateway.logs.some((line) => line.includes('inference config change refused')));
    expect(await modelNames()).toEqual(['alpha', 'beta']);
  });
});
