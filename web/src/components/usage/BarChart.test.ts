import { describe, expect, it } from 'vitest';
import { barScales } from './BarChart';

describe('barScales', () => {
  it('ticks a chart of counts at whole numbers on its value axis only', () => {
    expect(barScales(true, false, true).y.ticks).toEqual({ precision: 0 });
    expect(barScales(true, false, true).x.ticks).toEqual({ autoSkip: true, maxRotation: 0 });
    expect(barScales(false, true, true).x.ticks).toEqual({ autoSkip: true, maxRotation: 0, precision: 0 });
    expect(barScales(false, true, true).y.ticks).toEqual({});
  });
  it('leaves CPU-hours (fractions) to Chart.js', () => {
    expect(barScales(false, true, false).x.ticks).toEqual({ autoSkip: true, maxRotation: 0 });
    expect(barScales(true, false, false).y).toEqual({ stacked: true, beginAtZero: true, ticks: {} });
  });
});
