import { describe, expect, it } from 'vitest';
import { newEventId, newRequestId, randomId } from './ids.ts';

describe('ids', () => {
  it('mints random ids of the asked length in lower-case alphanumerics, longer than the scratch buffer too', () => {
    for (const length of [1, 8, 24, 64, 65, 200]) {
      const id = randomId(length);
      expect(id).toMatch(new RegExp(`^[0-9a-z]{${length}}$`));
    }
    expect(new Set(Array.from({ length: 1000 }, () => randomId(12))).size).toBe(1000);
  });

  it('mints request ids as req_ and 32 hex digits, and event ids as version 4 UUIDs, each distinct', () => {
    const requestIds = Array.from({ length: 1000 }, newRequestId);
    const eventIds = Array.from({ length: 1000 }, newEventId);
    for (const id of requestIds) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    for (const id of eventIds) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(requestIds).size).toBe(1000);
    expect(new Set(eventIds).size).toBe(1000);
  });

  it('hands back ids that later calls do not change', () => {
    const first = randomId(24);
    const copy = `${first}`;
    randomId(24);
    randomId(64);
    expect(first).toBe(copy);
  });
});
