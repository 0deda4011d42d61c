import type { Config, TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };

/** A vega-lite specification (the type only: vega-lite itself is loaded by the renderer thread). */
export type VegaLiteSpec = TopLevelSpec;

/** Every chart has the same size, so that the page's grid lines them up. */
export const CHART_WIDTH = 360;
export const CHART_HEIGHT = 230;

export const COLORS = {
  primary: '#2563eb',
  secondary: '#f97316',
  tertiary: '#16a34a',
  reference: '#9ca3af',
  text: '#1f2937',
} as const;

/** Fonts that share Helvetica's metrics, which the renderer measures text with (see render-svg.ts). */
const FONT = 'Helvetica, Arial, "Liberation Sans", sans-serif';

/**
 * The parts every chart shares: size, title, fonts, a white background. A subtitle's "; "-separated
 * parts go on lines of their own, so that a long one does not widen the chart (and shrink it on the page).
 */
export interface ChartFrame {
  title: TopLevelSpec['title'];
  width: number;
  height: number;
  background: string;
  padding: number;
  config: Config;
}

export function chartFrame(title: string, subtitle?: string): ChartFrame {
  return {
    title: subtitle ? { text: title, subtitle: subtitle.split('; '), anchor: 'start' } : { text: title, anchor: 'start' },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    background: 'white',
    padding: 8,
    config: {
      font: FONT,
      title: { fontSize: 14, fontWeight: 600, color: COLORS.text, subtitleColor: '#6b7280', subtitleFontSize: 11, offset: 10 },
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, titleColor: COLORS.text, labelColor: '#4b5563', gridColor: '#eceff3' },
      legend: { labelFontSize: 11, titleFontSize: 11, orient: 'top' },
      view: { stroke: '#e5e7eb' },
    },
  };
}

/** At most `max` points, evenly spaced, always keeping the first and the last (a curve's ends matter). */
export function thinPoints<T>(points: readonly T[], max = 400): T[] {
  if (points.length <= max) return [...points];
  const out: T[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]!);
  return out;
}

/** The dashed y = x line of ROC and calibration charts. */
export const DIAGONAL = [
  { x: 0, y: 0 },
  { x: 1, y: 1 },
];
