// The part of autocannon (an HTTP load generator without its own types) that the benchmarks use.
declare module 'autocannon' {
  namespace autocannon {
    interface Options {
      url: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      /** Replaces `[<id>]` in the body with a unique id per request. */
      idReplacement?: boolean;
      connections?: number;
      /** Seconds. */
      duration?: number;
      /** Threads generating the load (0: this one). */
      workers?: number;
    }
    interface Result {
      requests: { average: number; total: number };
      latency: { p50: number; p90: number; p99: number; max: number; average: number };
      non2xx: number;
      errors: number;
      timeouts: number;
      duration: number;
    }
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export = autocannon;
}
