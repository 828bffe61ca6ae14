// One Chart.js bar chart (stacked or horizontal), drawn into a canvas and redrawn when its data
// change. Only the parts of Chart.js a bar chart needs are registered, to keep the bundle small.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartDataset,
  Legend,
  LinearScale,
  Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'react';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface BarSeries {
  label: string;
  color: string;
  values: number[];
}

interface Props {
  labels: string[];
  series: BarSeries[];
  horizontal?: boolean;
  stacked?: boolean;
  testId: string;
  ariaLabel: string;
  height?: number;
  counts?: boolean; // the values are counts (jobs): whole-number ticks, never 0.5
}

/** The axes: categories along x (days) or y (horizontal bars), values from zero; a chart of
 * counts ticks its value axis at whole numbers only (Chart.js would put 3 jobs at 0.5 steps). */
export function barScales(stacked: boolean, horizontal: boolean, counts: boolean) {
  const whole = counts ? { precision: 0 } : {};
  return {
    x: { stacked, ticks: { autoSkip: true, maxRotation: 0, ...(horizontal ? whole : {}) } },
    y: { stacked, beginAtZero: true, ticks: horizontal ? {} : whole },
  };
}

export function BarChart({ labels, series, horizontal = false, stacked = false, testId, ariaLabel, height = 260, counts = false }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return undefined;
    const datasets: ChartDataset<'bar'>[] = series.map((s) => ({
      label: s.label,
      data: s.values,
      backgroundColor: s.color,
      borderWidth: 0,
    }));
    const chart = new Chart(canvas.current, {
      type: 'bar',
      data: { labels, datasets },
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: barScales(stacked, horizontal, counts),
        plugins: { legend: { display: series.length > 1, position: 'bottom' } },
      },
    });
    return () => chart.destroy();
  }, [labels, series, horizontal, stacked, counts]);
  return (
    <div className="chart" style={{ height }} data-testid={testId}>
      <canvas ref={canvas} role="img" aria-label={ariaLabel} />
    </div>
  );
}
