import { LRUCache } from 'lru-cache';

type Options<K extends NonNullable<unknown>, V extends NonNullable<unknown>> = Omit<LRUCache.Options<K, V, unknown>, 'max' | 'maxSize' | 'sizeCalculation'>;

/**
 * An LRU cache of at most `entries` entries whose storage grows as it fills. lru-cache's `max`
 * allocates room for every entry up front: megabytes at start for the tens of thousands of tenants
 * and keys a cache is sized for, when most instances hold far fewer.
 */
export function growingLru<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(entries: number, options: Options<K, V> = {}): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: entries, sizeCalculation: () => 1 });
}
