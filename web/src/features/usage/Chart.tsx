import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const palette = ['#0a58ca', '#1a7f37', '#cf222e', '#9a6700', '#8250df', '#bf3989', '#0e7490', '#57606a'];

/**
 * The colours of the axes' lines, labels and grid, read from the page's CSS variables: a canvas
 * cannot resolve `currentColor` or `var(--fg)`, and drew black labels on the dark scheme's dark page.
 */
function axisColours(el: Element) {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return { text: v('--fg', css.color), grid: v('--border', '#d0d7de') };
}

/** The system's colour scheme now, followed as it changes (the chart is redrawn in its colours). */
function useColourScheme() {
  const query = '(prefers-color-scheme: dark)';
  const [dark, setDark] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const media = window.matchMedia(query);
    const change = () => setDark(media.matches);
    media.addEventListener('change', change);
    return () => media.removeEventListener('change', change);
  }, []);
  return dark;
}

/** A uPlot line chart of several series over one time axis (seconds); redrawn when the data or the colour scheme change. */
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
  const dark = useColourScheme();
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // Drawn for this scheme: its colours come through the CSS variables.
    el.dataset.scheme = dark ? 'dark' : 'light';
    const c = axisColours(el);
    const axis = { stroke: c.text, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 } };
    const plot = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 220,
        scales: { x: { time: true } },
        axes: [axis, { ...axis, size: 60 }],
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
  }, [xs, series, dark]);
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
