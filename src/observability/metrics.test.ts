import { describe, expect, it } from 'vitest';
import { newUsageEvent } from '../modules/usage/usage-event.ts';
import { GatewayMetrics } from './metrics.ts';

const event = (overrides: Parameters<typeof newUsageEvent>[0]) => newUsageEvent(overrides);

describe('GatewayMetrics', () => {
  it('counts refusals by reason and keeps unknown model names out of the labels', async () => {
    const metrics = new GatewayMetrics({ tenantLabel: false, defaultMetrics: false });
    metrics.bind({ modelKnown: (name) => name === 'known' });
    const base = { requestId: 'r', tenantId: 't1', kind: 'chat' as const, node: 'n', status: 'refused' as const };
    metrics.completion(event({ ...base, requestedModel: 'known', errorCode: 'RATE_LIMITED' }), 'v1', undefined, false);
    metrics.completion(event({ ...base, requestedModel: 'made-up-by-a-caller', errorCode: 'QUOTA_EXCEEDED' }), 'graphql', undefined, false);
    const text = await metrics.render();
    expect(text).toContain('tollgate_refusals_total{surface="v1",reason="rate_limited"} 1');
    expect(text).toContain('tollgate_refusals_total{surface="graphql",reason="quota_exceeded"} 1');
    expect(text).toContain('tollgate_completion_requests_total{surface="v1",kind="chat",model="known",status="refused"} 1');
    expect(text).toContain('model="unknown"');
    expect(text).not.toContain('made-up-by-a-caller');
  });

  it('labels tokens by tenant only when configured to', async () => {
    const served = { requestId: 'r', tenantId: 'tenant-7', kind: 'chat' as const, node: 'n', requestedModel: 'm', servedModel: 'm', provider: 'p', deployment: 'p/m', promptTokens: 3, completionTokens: 5 };
    const plain = new GatewayMetrics({ tenantLabel: false, defaultMetrics: false });
    plain.completion(event(served), 'v1', { upstreamMs: 12, overheadMs: 0.3 }, false);
    expect(await plain.render()).not.toContain('tenant-7');
    const perTenant = new GatewayMetrics({ tenantLabel: true, defaultMetrics: false });
    perTenant.completion(event(served), 'v1', { upstreamMs: 12, overheadMs: 0.3 }, false);
    perTenant.completion(event(served), 'v1', { upstreamMs: 12, overheadMs: 0.3 }, false);
    const text = await perTenant.render();
    expect(text).toContain('tollgate_tokens_total{model="m",provider="p",type="completion",tenant="tenant-7"} 10');
    expect(text).toContain('tollgate_gateway_overhead_seconds_bucket{le="0.0005",surface="v1",kind="chat"} 2');
  });
});
