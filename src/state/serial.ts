// One at a time: work on shared state (a file rewritten whole, a monitor's claims) that concurrent
// steps must not interleave.

/** Runs each function given after every earlier one has finished, and returns its result. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(f: () => Promise<T>): Promise<T> {
    const next = this.tail.then(f);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** One Serial per key (a partition's name): different keys run concurrently. */
export class KeyedSerial {
  private readonly tails = new Map<string, Serial>();

  run<T>(key: string, f: () => Promise<T>): Promise<T> {
    let s = this.tails.get(key);
    if (!s) this.tails.set(key, (s = new Serial()));
    return s.run(f);
  }
}
