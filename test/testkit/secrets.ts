// Secrets must never reach a log line. The scan looks for every secret a test knows about, and for
// anything shaped like a credential whoever made it: a full API key, a bearer header, a JWT.

const credentialShapes: { name: string; pattern: RegExp }[] = [
  { name: 'API key', pattern: /tg_[0-9a-z]{8}_[0-9a-z]{32}/ },
  { name: 'bearer credential', pattern: /Bearer\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}/i },
  { name: 'JWT', pattern: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/ },
];

export interface Leak {
  /** What leaked: "secret #n" for a known secret (never the secret itself), or the credential shape. */
  what: string;
  line: number;
}

/** Every log line that carries a known secret or something shaped like a credential. */
export function findLeaks(logs: readonly string[], secrets: Iterable<string>): Leak[] {
  const known = [...new Set(secrets)].filter((secret) => secret.length >= 8);
  const leaks: Leak[] = [];
  logs.forEach((line, index) => {
    known.forEach((secret, n) => {
      if (line.includes(secret)) leaks.push({ what: `secret #${n + 1}`, line: index });
    });
    for (const shape of credentialShapes) if (shape.pattern.test(line)) leaks.push({ what: shape.name, line: index });
  });
  return leaks;
}

/** Throws naming what leaked and where, quoting neither the secret nor the line. */
export function assertNoLeaks(logs: readonly string[], secrets: Iterable<string>): void {
  const leaks = findLeaks(logs, secrets);
  if (leaks.length > 0) {
    throw new Error(`secrets in the logs: ${leaks.slice(0, 10).map((leak) => `${leak.what} in line ${leak.line + 1}`).join(', ')}${leaks.length > 10 ? ` and ${leaks.length - 10} more` : ''}`);
  }
}
