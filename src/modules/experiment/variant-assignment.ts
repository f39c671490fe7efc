import type { Variant } from './experiment.table.ts';

/**
 * A stable number in [0, 1) for a key: FNV-1a, then murmur3's finaliser so that keys differing only in
 * their last characters (user-1, user-2) still land far apart. The same key gives the same number on
 * every instance and after every restart.
 */
export function stableUnit(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 4_294_967_296;
}

/** The variant whose share of the total weight covers `unit`. */
export function pickVariant(variants: readonly Variant[], totalWeight: number, unit: number): Variant {
  let point = unit * totalWeight;
  for (const variant of variants) {
    point -= variant.weight;
    if (point < 0) return variant;
  }
  return variants[variants.length - 1]!;
}
