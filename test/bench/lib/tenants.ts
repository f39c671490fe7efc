/** Lifts a bench tenant's rate limits well above what the load can reach, so nothing is refused. */
export async function raiseLimits(url: string, adminKey: string, tenantId: string): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({
      query: 'mutation($tenantId: ID!, $limits: RateLimitsInput!) { setTenantLimits(tenantId: $tenantId, limits: $limits) { tenant { id } } }',
      variables: { tenantId, limits: { requestsPerMinute: 1_000_000_000, tokensPerMinute: 1_000_000_000, concurrentRequests: 100_000 } },
    }),
  });
  const body = (await response.json()) as { errors?: { message: string }[] };
  if (!response.ok || body.errors?.length) {
    throw new Error(`could not raise the bench tenant's rate limits (HTTP ${response.status}: ${body.errors?.map((e) => e.message).join('; ') ?? ''})`);
  }
}
