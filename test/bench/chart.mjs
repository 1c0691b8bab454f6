// Draws the run as a PNG: an SVG written here (throughput per party and scenario on a log scale,
// idle latency percentiles, peak RSS), rendered by @resvg/resvg-js (prebuilt, no install script).
import { Resvg } from '@resvg/resvg-js';

const COLORS = { audithook: '#2563eb', 'bare Apollo': '#6b7280', 'BullMQ peer': '#ea580c', 'raw got loop': '#16a34a' };
/** audithook on PostgreSQL (--database postgres): purples, darker with more workers. */
const POSTGRES_COLORS = ['#c4b5fd', '#a78bfa', '#8b5cf6', '#7c3aed', '#6d28d9', '#5b21b6'];
const postgresName = (key) => `PG, ${key.slice(1)} worker${key === 'w1' ? '' : 's'}`;
const WIDTH = 1100;
const LABEL_W = 260;
const PLOT_W = WIDTH - LABEL_W - 130;
const BAR_H = 14;
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v, unit) => (unit === 'ms' ? `${v.toFixed(v < 10 ? 2 : 1)} ms` : unit === '/s' ? `${Math.round(v).toLocaleString('en-US')}/s` : `${Math.round(v).toLocaleString('en-US')} ${unit}`);

/** A round axis step (1, 2 or 5 times a power of ten) near `raw`. */
function niceStep(raw) {
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map((f) => f * power).find((candidate) => candidate >= raw) ?? 10 * power;
}

/** One panel of horizontal bars (dashed red lines mark targets); `log` uses a log10 axis (throughputs span three decades). */
function panel({ title, groups, unit, log, top, markers = [] }) {
  markers = markers.filter((m) => typeof m.value === 'number' && m.value > 0);
  const values = [...groups.flatMap((g) => g.bars.map((b) => b.value)), ...markers.map((m) => m.value)].filter((v) => typeof v === 'number' && v > 0);
  const max = Math.max(1, ...values);
  const min = log ? Math.pow(10, Math.floor(Math.log10(Math.min(...values, max)))) : 0;
  const step = niceStep(max / 4);
  const maxAxis = log ? Math.pow(10, Math.ceil(Math.log10(max))) : Math.ceil((max * 1.05) / step) * step;
  const x = (v) => LABEL_W + (log ? (Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(maxAxis) - Math.log10(min)) : v / maxAxis) * PLOT_W;
  const parts = [`<text x="16" y="${top + 20}" font-size="16" font-weight="bold">${esc(title)}</text>`];
  let y = top + (markers.length > 0 ? 52 : 36);
  // axis ticks
  const ticks = log ? Array.from({ length: Math.round(Math.log10(maxAxis / min)) + 1 }, (_, i) => min * Math.pow(10, i)) : Array.from({ length: Math.round(maxAxis / step) + 1 }, (_, i) => i * step);
  const bodyTop = y;
  for (const g of groups) {
    const bars = g.bars;
    parts.push(`<text x="${LABEL_W - 8}" y="${y + (Math.max(bars.length, 1) * (BAR_H + 2)) / 2 + 4}" font-size="12" text-anchor="end">${esc(g.label)}</text>`);
    for (const b of bars) {
      const has = typeof b.value === 'number' && b.value > 0;
      const w = has ? Math.max(1, x(b.value) - LABEL_W) : 0;
      parts.push(`<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${b.color ?? COLORS[b.party] ?? '#999'}"/>`);
      parts.push(`<text x="${LABEL_W + w + 4}" y="${y + BAR_H - 3}" font-size="11" fill="#333">${esc(has ? num(b.value, unit) : b.missing ?? 'skipped')}</text>`);
      y += BAR_H + 2;
    }
    y += 10;
  }
  for (const t of ticks) {
    const tx = x(t);
    parts.push(`<line x1="${tx.toFixed(1)}" y1="${bodyTop - 4}" x2="${tx.toFixed(1)}" y2="${y - 6}" stroke="#ddd" stroke-width="1"/>`);
    parts.push(`<text x="${tx.toFixed(1)}" y="${y + 6}" font-size="10" text-anchor="middle" fill="#666">${esc(Number(t.toPrecision(6)).toLocaleString('en-US'))}</text>`);
  }
  for (const m of markers) {
    const mx = x(m.value).toFixed(1);
    parts.push(`<line x1="${mx}" y1="${bodyTop - 8}" x2="${mx}" y2="${y - 6}" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="5,3"/>`);
    parts.push(`<text x="${mx}" y="${bodyTop - 10}" font-size="10" text-anchor="middle" fill="#dc2626">${esc(m.label)}</text>`);
  }
  return { svg: parts.join('\n'), bottom: y + 20 };
}

/** The SVG of a report (the JSON the runner writes). */
export function chartSvg(report) {
  const byId = new Map(report.rows.map((row) => [row.id, row]));
  const bar = (id, party) => {
    const row = byId.get(id);
    return { party, color: colors[party], value: row?.value ?? null, missing: row?.status?.startsWith('skipped') ? 'skipped' : 'no figure' };
  };
  // The worker counts that have PostgreSQL rows (ids audithook.postgres.wN.…), in run order.
  const postgresKeys = [...new Set(report.rows.map((row) => /^audithook\.postgres\.(w\d+)\./.exec(row.id)?.[1]).filter(Boolean))];
  const colors = { ...COLORS, ...Object.fromEntries(postgresKeys.map((key, i) => [postgresName(key), POSTGRES_COLORS[Math.min(i, POSTGRES_COLORS.length - 1)]])) };
  const postgres = postgresKeys.map((key) => [`audithook.postgres.${key}`, postgresName(key)]);
  const parties = [['audithook', 'audithook'], ...postgres, ['apollo', 'bare Apollo'], ['bullmq', 'BullMQ peer']];
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
  const delivering = [['audithook', 'audithook'], ...postgres, ['bullmq', 'BullMQ peer']];
  const latency = ['p50', 'p95', 'p99'].map((p) => ({ label: `idle latency ${p}`, bars: delivering.map(([key, name]) => bar(`${key}.idle.${p}`, name)) }));
  const rss = [{ label: 'peak RSS', bars: delivering.map(([key, name]) => bar(`${key}.rss.peak`, name)) }];

  const head = `audithook benchmark (${report.mode}) — ${report.startedAt} — node ${report.machine.node}, ${report.machine.cpus} CPUs`;
  const rawC16 = byId.get('raw.c16')?.value;
  const p1 = panel({
    title: 'Throughput, events/s (log scale)',
    groups: throughput,
    unit: '/s',
    log: true,
    top: 48,
    markers: typeof rawC16 === 'number' ? [{ value: 10 * rawC16, label: 'target for batched delivery and drain: 10× raw c16' }] : [],
  });
  const p2 = panel({
    title: 'Idle latency at 20 events/s: mutation answered → receiver first sight',
    groups: latency,
    unit: 'ms',
    log: false,
    top: p1.bottom + 8,
    markers: [
      { value: 5, label: 'p50 ≤ 5 ms' },
      { value: 25, label: 'p99 ≤ 25 ms' },
    ],
  });
  const p3 = panel({ title: `Peak RSS, MB (BullMQ peer: server + worker, Redis not counted${postgres.length > 0 ? '; PG: api + workers' : ''})`, groups: rss, unit: 'MB', log: false, top: p2.bottom + 8, markers: [{ value: 200, label: '≤ 200 MB' }] });
  const step = Object.keys(colors).length > 4 ? Math.floor((WIDTH - 32) / Object.keys(colors).length) : 170;
  const legend = Object.entries(colors)
    .map(([name, color], i) => `<rect x="${16 + i * step}" y="${p3.bottom + 10}" width="12" height="12" fill="${color}"/><text x="${34 + i * step}" y="${p3.bottom + 21}" font-size="12">${esc(name)}</text>`)
    .join('\n');
  const height = p3.bottom + 40;
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
