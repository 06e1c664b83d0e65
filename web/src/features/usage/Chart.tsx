import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const palette = ['#0a58ca', '#1a7f37', '#cf222e', '#9a6700', '#8250df', '#bf3989', '#0e7490', '#57606a'];

/** A uPlot line chart of several series over one time axis (seconds); redrawn when the data change. */
export function TimeChart({
  title,
  xs,
  series,
}: {
  title: string;
  xs: number[];
  series: { label: string; values: number[] }[];
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const plot = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 220,
        scales: { x: { time: true } },
        axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', size: 60 }],
        series: [
          {},
          ...series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 2 })),
        ],
      },
      [xs, ...series.map((s) => s.values)],
      el,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(300, el.clientWidth), height: 220 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [xs, series]);
  return (
    <figure className="chart">
      <figcaption>
        <h2>{title}</h2>
      </figcaption>
      <div
        ref={box}
        role="img"
        aria-label={`${title} over time: ${series.map((s) => `${s.label} ${s.values.reduce((a, b) => a + b, 0)}`).join(', ') || 'no data'}`}
      />
    </figure>
  );
}
