/**
 * A seedable random source (mulberry32) for everything that must be reproducible from a seed:
 * synthetic signal streams, fault schedules, a seeded local cluster, shuffled test orders.
 * Small and fast; not for cryptography.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
