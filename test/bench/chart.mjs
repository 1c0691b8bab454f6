// Draws the run as a PNG: an SVG written here (throughput per party and scenario on a log scale,
// idle latency percentiles, peak RSS), rendered by @resvg/resvg-js (prebuilt, no install script).
import { Resvg } from '@resvg/resvg-js';

const COLORS = { audithook: '#2563eb', 'bare Apollo': '#6b7280', 'BullMQ peer': '#ea580c', 'raw got loop': '#16a34a' };
const WIDTH = 1100;
const LABEL_W = 260;
const PLOT_W = WIDTH - LABEL_W - 130;
const BAR_H = 14;
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v, unit) => (unit === 'ms' ? `${v.toFixed(v < 10 ? 2 : 1)} ms` : `${Math.round(v).toLocaleString('en-US')} ${unit}`);

/** One panel of horizontal bars; `log` uses a log10 axis (throughputs span three decades). */
function panel({ title, groups, unit, log, top }) {
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => typeof v === 'number' && v > 0);
  const max = Math.max(1, ...values);
  const min = log ? Math.pow(10, Math.floor(Math.log10(Math.min(...values, max)))) : 0;
  const maxAxis = log ? Math.pow(10, Math.ceil(Math.log10(max))) : max * 1.1;
  const x = (v) => LABEL_W + (log ? (Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(maxAxis) - Math.log10(min)) : v / maxAxis) * PLOT_W;
  const parts = [`<text x="16" y="${top + 20}" font-size="16" font-weight="bold">${esc(title)}</text>`];
  let y = top + 36;
  // axis ticks
  const ticks = log ? Array.from({ length: Math.round(Math.log10(maxAxis / min)) + 1 }, (_, i) => min * Math.pow(10, i)) : [0, 0.25, 0.5, 0.75, 1].map((f) => f * maxAxis);
  const bodyTop = y;
  for (const g of groups) {
    const bars = g.bars;
    parts.push(`<text x="${LABEL_W - 8}" y="${y + (Math.max(bars.length, 1) * (BAR_H + 2)) / 2 + 4}" font-size="12" text-anchor="end">${esc(g.label)}</text>`);
    for (const b of bars) {
      const has = typeof b.value === 'number' && b.value > 0;
      const w = has ? Math.max(1, x(b.value) - LABEL_W) : 0;
      parts.push(`<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLORS[b.party] ?? '#999'}"/>`);
      parts.push(`<text x="${LABEL_W + w + 4}" y="${y + BAR_H - 3}" font-size="11" fill="#333">${esc(has ? num(b.value, unit) : b.missing ?? 'skipped')}</text>`);
      y += BAR_H + 2;
    }
    y += 10;
  }
  for (const t of ticks) {
    const tx = x(t);
    parts.push(`<line x1="${tx.toFixed(1)}" y1="${bodyTop - 4}" x2="${tx.toFixed(1)}" y2="${y - 6}" stroke="#ddd" stroke-width="1"/>`);
    parts.push(`<text x="${tx.toFixed(1)}" y="${y + 6}" font-size="10" text-anchor="middle" fill="#666">${esc(log ? Math.round(t).toLocaleString('en-US') : t.toFixed(unit === 'ms' ? 1 : 0))}</text>`);
  }
  return { svg: parts.join('\n'), bottom: y + 20 };
}

/** The SVG of a report (the JSON the runner writes). */
export function chartSvg(report) {
  const byId = new Map(report.rows.map((row) => [row.id, row]));
  const bar = (id, party) => {
    const row = byId.get(id);
    return { party, value: row?.value ?? null, missing: row?.status?.startsWith('skipped') ? 'skipped' : 'no figure' };
  };
  const parties = [
    ['audithook', 'audithook'],
    ['apollo', 'bare Apollo'],
    ['bullmq', 'BullMQ peer'],
  ];
  const throughput = [
    { label: 'raw got POST loop c1 / c16 (req/s)', bars: [bar('raw.c1', 'raw got loop'), bar('raw.c16', 'raw got loop')] },
    ...[
      ['single.ingest', 'single events c16: ingest'],
      ['single.delivered', 'single events c16: delivered'],
      ['batch.ingest', '100-event batches c4: ingest'],
      ['batch.delivered', '100-event batches c4: delivered'],
      ['backlog.drain', 'backlog drain after outage'],
    ].map(([suffix, label]) => ({ label, bars: parties.filter(([key]) => byId.has(`${key}.${suffix}`)).map(([key, name]) => bar(`${key}.${suffix}`, name)) })),
  ];
  const latency = ['p50', 'p95', 'p99'].map((p) => ({ label: `idle latency ${p}`, bars: [bar(`audithook.idle.${p}`, 'audithook'), bar(`bullmq.idle.${p}`, 'BullMQ peer')] }));
  const rss = [{ label: 'peak RSS', bars: [bar('audithook.rss.peak', 'audithook'), bar('bullmq.rss.peak', 'BullMQ peer')] }];

  const head = `audithook benchmark (${report.mode}) — ${report.startedAt} — node ${report.machine.node}, ${report.machine.cpus} CPUs`;
  const p1 = panel({ title: 'Throughput, events/s (log scale)', groups: throughput, unit: '/s', log: true, top: 40 });
  const p2 = panel({ title: 'Idle latency at 20 events/s: mutation answered → receiver first sight', groups: latency, unit: 'ms', log: false, top: p1.bottom });
  const p3 = panel({ title: 'Peak RSS, MB (BullMQ peer: server + worker, Redis not counted)', groups: rss, unit: 'MB', log: false, top: p2.bottom });
  const legend = Object.entries(COLORS)
    .map(([name, color], i) => `<rect x="${16 + i * 170}" y="${p3.bottom}" width="12" height="12" fill="${color}"/><text x="${34 + i * 170}" y="${p3.bottom + 11}" font-size="12">${esc(name)}</text>`)
    .join('\n');
  const height = p3.bottom + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="24" font-size="13" fill="#444">${esc(head)}</text>
${p1.svg}
${p2.svg}
${p3.svg}
${legend}
</svg>`;
}

/** The PNG bytes of a report's chart. */
export function chartPng(report) {
  return new Resvg(chartSvg(report), { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' }).render().asPng();
}
