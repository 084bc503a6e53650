// Client-side rate limit of the controller's API requests: a token bucket, the shape of client-go's
// flowcontrol.NewTokenBucketRateLimiter that kube-controller-manager (--kube-api-qps 20,
// --kube-api-burst 30) and controller-runtime managers use. Without one, a controller that wakes
// up to 1,000 new InstanceSets sends its 3,000 pod creates as fast as the API server answers,
// which both starves other clients of a shared API server and made the old benchmark compare an
// unlimited dbtopo with a kube-controller-manager held to 20 requests per second.
//
// Tokens refill continuously at `qps` per second up to `burst`; take() waits, in FIFO order, until
// one is free. Watches are long-lived and are not counted (client-go limits only their opening).

export interface RateLimit {
  /** Sustained requests per second; Infinity (or <= 0) = no limit. */
  qps: number;
  /** Requests allowed at once after a quiet period. */
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    if (!(limit.burst >= 1)) throw new Error(`rate limit burst must be at least 1, got ${limit.burst}`);
    this.tokens = limit.burst;
    this.last = this.now();
  }

  get unlimited(): boolean {
    return !(this.limit.qps > 0) || this.limit.qps === Infinity;
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    if (this.unlimited) return Promise.resolve();
    // Chained so that waiters are served in arrival order and never two take the same token.
    const turn = this.tail.then(() => this.next());
    this.tail = turn;
    return turn;
  }

  private async next(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) / 1000) * this.limit.qps);
      this.last = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(((1 - this.tokens) / this.limit.qps) * 1000);
    }
  }
}
