/**
 * What the scan saw, in a few kilobytes whatever the number of users, so the sweep can find
 * the stored users Clerk no longer lists without holding (or persisting) every listed id.
 *
 * Ids are spread over `bucketCount` buckets by a hash; per bucket the digest keeps how many
 * listed users are live here and the sum of a second part of their hashes. The sweep computes
 * the same digest over the users stored live: a bucket whose two figures agree holds exactly
 * the users the scan saw (a different set with the same count and hash sum would need a
 * 22-bit hash collision within a bucket, in a run where a user also changed under the scan;
 * the next run would catch it), so only the users of the buckets that differ are checked
 * against Clerk. The digest is plain JSON (arrays of numbers): it lives in the run report,
 * which is what lets a crashed or retried run resume without re-reading the pages it did.
 */
export interface SeenDigest {
  counts: number[];
  hashSums: number[];
}

export const bucketCount = 1024;

export const emptyDigest = (): SeenDigest => ({ counts: new Array<number>(bucketCount).fill(0), hashSums: new Array<number>(bucketCount).fill(0) });

/** FNV-1a (32-bit) of the id: its low 10 bits pick the bucket, the other 22 go into the sum. */
function hashOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < id.length; index += 1) {
    hash ^= id.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export const bucketOf = (id: string): number => hashOf(id) % bucketCount;

/** Adds one id (sums stay exact below 2^53: over 2 billion ids a bucket). */
export function addToDigest(digest: SeenDigest, id: string): void {
  const hash = hashOf(id);
  const bucket = hash % bucketCount;
  digest.counts[bucket] = (digest.counts[bucket] ?? 0) + 1;
  digest.hashSums[bucket] = (digest.hashSums[bucket] ?? 0) + Math.floor(hash / bucketCount);
}

/** The buckets in `[from, to)` where the two digests differ. */
export function differingBuckets(seen: SeenDigest, stored: SeenDigest, from = 0, to = bucketCount): number[] {
  const differing: number[] = [];
  for (let bucket = from; bucket < to; bucket += 1) {
    if (seen.counts[bucket] !== stored.counts[bucket] || seen.hashSums[bucket] !== stored.hashSums[bucket]) differing.push(bucket);
  }
  return differing;
}

export const digestTotal = (digest: SeenDigest): number => digest.counts.reduce((sum, count) => sum + count, 0);
