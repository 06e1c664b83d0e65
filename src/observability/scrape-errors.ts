import { Counter, type Gauge, type Registry } from 'prom-client';

/**
 * Gauges read from the store, made safe for a scrape during an outage. When a read fails its
 * gauge's series are left out of this scrape and `agentry_scrape_errors_total{source}` counts the
 * failure, so /metrics keeps answering with everything else (process, HTTP, breakers, health) —
 * the figures an operator needs most while the store is down.
 */
export class ScrapeErrors {
  /** The store reads of the scrape under way, which the counter waits for before it is read. */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly counter: Counter<'source'>;

  constructor(registry: Registry) {
    const inFlight = this.inFlight;
    this.counter = new Counter({
      name: 'agentry_scrape_errors_total',
      help: 'Scrapes in which a store-backed gauge could not be read (its series left out), by gauge',
      labelNames: ['source'],
      registers: [registry],
      // prom-client starts every metric's collect in the same tick: one turn later the store reads
      // of this scrape are all under way, and their failures are then counted in this very scrape.
      async collect() {
        await null;
        await Promise.all(inFlight);
      },
    });
  }

  /** The `collect` of a gauge whose values `read` takes from the store; `source` names it in the counter. */
  collect<G extends Gauge<string>>(
    source: string,
    read: (gauge: G) => Promise<void>,
  ): (this: G) => Promise<void> {
    const { inFlight, counter } = this;
    return function (this: G) {
      const done = read(this).catch(() => {
        this.reset();
        counter.inc({ source });
      });
      inFlight.add(done);
      return done.finally(() => inFlight.delete(done));
    };
  }
}
