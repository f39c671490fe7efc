// Integration tests read real servers' URLs from TOLLGATE_TEST_<NAME>_URL (scripts/services.sh
// prints them). Locally a missing URL skips those tests; CI sets TOLLGATE_REQUIRE_SERVICES=1 so a
// missing URL fails loudly instead of passing with nothing tested.

export type ServiceName = 'DATABASE' | 'REDIS' | 'REDIS_CLUSTER' | 'CLICKHOUSE' | 'CLICKHOUSE_CLUSTER';

export const serviceVariables = ['DATABASE', 'REDIS', 'REDIS_CLUSTER', 'CLICKHOUSE', 'CLICKHOUSE_CLUSTER'].map((name) => `TOLLGATE_TEST_${name}_URL`);

export function servicesRequired(): boolean {
  return process.env.TOLLGATE_REQUIRE_SERVICES === '1';
}

/** The test server URL for `name`, or undefined (skip) when unset and not required; throws when required. */
export function serviceUrl(name: ServiceName): string | undefined {
  const variable = `TOLLGATE_TEST_${name}_URL`;
  const url = process.env[variable]?.trim();
  if (url) {
    return url;
  }
  if (servicesRequired()) {
    throw new Error(
      `${variable} is missing and TOLLGATE_REQUIRE_SERVICES=1: run scripts/services.sh and export the variables it prints`,
    );
  }
  return undefined;
}
