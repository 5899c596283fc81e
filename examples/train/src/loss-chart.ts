/** Loss curves as a standalone SVG line chart (no dependencies): one line per run, steps on x, loss on y. */

export interface Curve {
  readonly label: string;
  readonly color: string;
  readonly values: readonly number[];
  /** Drawn dashed (so that two curves on top of each other both show). */
  readonly dashed?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lossChartSvg(title: string, curves: readonly Curve[]): string {
  const [W, H] = [720, 420];
  const m = { left: 60, right: 20, top: 40, bottom: 50 };
  const steps = Math.max(...curves.map((c) => c.values.length));
  const all = curves.flatMap((c) => c.values);
  const [lo, hi] = [Math.min(...all), Math.max(...all)];
  const x = (i: number) => m.left + (i / Math.max(steps - 1, 1)) * (W - m.left - m.right);
  const y = (v: number) => m.top + (1 - (v - lo) / (hi - lo || 1)) * (H - m.top - m.bottom);
  const ticks = Array.from({ length: 5 }, (_, k) => lo + ((hi - lo) * k) / 4);
  const grid = ticks
    .map(
      (v) =>
        `<line x1="${m.left}" x2="${W - m.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e3e6eb"/>` +
        `<text x="${m.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(2)}</text>`,
    )
    .join('');
  const xTicks = [0, Math.floor((steps - 1) / 2), steps - 1]
    .map((i) => `<text x="${x(i).toFixed(1)}" y="${H - m.bottom + 18}" text-anchor="middle">${i + 1}</text>`)
    .join('');
  const lines = curves
    .map((c) => {
      const d = c.values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`).join(' ');
      return `<path d="${d}" fill="none" stroke="${c.color}" stroke-width="2"${c.dashed ? ' stroke-dasharray="6 4"' : ''}/>`;
    })
    .join('');
  const legend = curves
    .map(
      (c, k) =>
        `<line x1="${W - 230}" x2="${W - 200}" y1="${m.top + 14 + 18 * k}" y2="${m.top + 14 + 18 * k}" stroke="${c.color}" stroke-width="2"${c.dashed ? ' stroke-dasharray="6 4"' : ''}/>` +
        `<text x="${W - 192}" y="${m.top + 18 + 18 * k}">${esc(c.label)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12" fill="#1d2330">` +
    `<rect width="${W}" height="${H}" fill="#fff"/>` +
    `<text x="${m.left}" y="24" font-size="15" font-weight="600">${esc(title)}</text>` +
    grid +
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#8a94a6"/>` +
    `<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#8a94a6"/>` +
    xTicks +
    `<text x="${(W + m.left) / 2}" y="${H - 12}" text-anchor="middle">training step</text>` +
    `<text transform="translate(16 ${(H + m.top - m.bottom) / 2}) rotate(-90)" text-anchor="middle">cross-entropy loss</text>` +
    lines +
    legend +
    '</svg>\n'
  );
}
