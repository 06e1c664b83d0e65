import { Gauge, type Registry } from 'prom-client';
import type { HealthRegistry } from './health.ts';

const value = { ok: 1, degraded: 0.5, down: 0 } as const;

/**
 * The health report as a gauge, computed on each scrape: 1 ok, 0.5 degraded, 0 down, by component
 * (`overall` for the whole; none for a component that is off), so alert rules see a store that is down while the process is up.
 */
export function registerHealthGauge(registry: Registry, health: HealthRegistry): void {
  new Gauge({
    name: 'agentry_health_status',
    help: 'Health by component (overall for the whole): 1 ok, 0.5 degraded, 0 down',
    labelNames: ['component'],
    registers: [registry],
    async collect() {
      const report = await health.report();
      this.reset();
      this.set({ component: 'overall' }, value[report.status]);
      // A component turned off (or not configured) is no fault for an alert to see: it has no series.
      for (const [name, c] of Object.entries(report.components))
        if (c.status !== 'off') this.set({ component: name }, value[c.status]);
    },
  });
}
