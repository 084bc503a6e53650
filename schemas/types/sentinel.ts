// Sentinel timings the compiler renders into sentinel.conf and the controller keeps when it
// (re)registers a shard with SENTINEL MONITOR / SET: one definition, or the controller would set
// back what the compiler rendered.
export const SENTINEL_TIMING = {
  /** A primary unanswered this long is subjectively down. */
  downAfterMs: 5_000,
  // Also how long every Sentinel waits before trying again after an aborted failover (twice this):
  // a leader that had not yet read the replicas from the primary's INFO aborts, and 2 × 60 s was a
  // two-minute outage; 2 × 15 s is half a minute. Promotion itself takes well under a second.
  failoverTimeoutMs: 15_000,
  parallelSyncs: 1,
} as const;
