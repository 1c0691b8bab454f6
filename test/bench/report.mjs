// Turns the scenarios' figures into rows: each figure with its ratio to the limit (raw loop c16),
// a baseline (bare Apollo) or the BullMQ peer, and the target it must meet. Prints them as one table.
// With --database postgres, audithook on PostgreSQL gets the same delivering rows per worker count.

const fmt = (value, unit) => {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (unit === 'ms') return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
  if (unit === 'MB') return `${value.toFixed(0)} MB`;
  return `${Math.round(value).toLocaleString('en-US')} ${unit}`;
};

/** Compares a row with another row or a fixed budget; `op` says which way is good. */
function compare(row, { against, label, budget, op, target }) {
  const other = against ? against.value : budget;
  const ratio = row.value !== null && other !== null && other !== undefined && other !== 0 ? row.value / other : null;
  const met = target === undefined || ratio === null ? null : op === '>=' ? ratio >= target : op === '>' ? ratio > target : op === '<=' ? ratio <= target : ratio < target;
  return { against: against?.id ?? null, label, ratio, target: target === undefined ? null : { op, value: target }, met };
}

/**
 * The rows of a run, in table order. `r` holds the scenario results per party
 * ({ raw, apollo, audithook, bullmq }); a party that did not run has { skipped: reason }.
 */
export function buildRows(r) {
  const rows = [];
  // A row's party block is r[first part of its id] unless `extra.skipped` says (the PostgreSQL rows: their worker count's block).
  const add = (id, party, scenario, metric, unit, value, { skipped: skippedBy, ...extra } = {}) => {
    const skipped = skippedBy !== undefined ? skippedBy : r[id.split('.')[0]]?.skipped;
    const row = { id, party, scenario, metric, unit, value: skipped ? null : (value ?? null), status: skipped ? `skipped: ${skipped}` : value === null || value === undefined ? 'no figure' : 'ok', ...extra, comparisons: [] };
    rows.push(row);
    return row;
  };
  const get = (party, scenario, key) => r[party]?.[scenario]?.[key] ?? null;

  const rawC1 = add('raw.c1', 'raw got loop', 'POST loop, concurrency 1', 'requests/s', 'req/s', get('raw', 'c1', 'requestsPerSec'));
  const rawC16 = add('raw.c16', 'raw got loop', 'POST loop, concurrency 16 (the limit)', 'requests/s', 'req/s', get('raw', 'c16', 'requestsPerSec'));
  rawC1.comparisons.push(compare(rawC1, { against: rawC16, label: 'raw loop c16' }));
  const apolloSingle = add('apollo.single.ingest', 'bare Apollo', 'single-event mutations, c16', 'ingest', 'events/s', get('apollo', 'single', 'ingestPerSec'));
  const apolloBatch = add('apollo.batch.ingest', 'bare Apollo', '100-event batches, c4', 'ingest', 'events/s', get('apollo', 'batch', 'ingestPerSec'));

  /** "incomplete: n of m arrived" when a scenario's events did not all reach the receiver in time. */
  const arrivalNote = (figures) =>
    figures && figures.arrived !== undefined && figures.arrived < figures.events ? `incomplete: ${figures.arrived} of ${figures.events} events arrived in time` : undefined;
  /** The rows of a delivering party: ids `${prefix}.…`, figures from `f` (its block of results), `rssScenario` says whose memory. */
  const partyRows = (prefix, label, f, { rssScenario = 'whole run', skipped } = {}) => {
    const at = (scenario, key) => f?.[scenario]?.[key] ?? null;
    const backlog = f?.backlog;
    const own = skipped !== undefined ? { skipped } : {};
    const rowsOf = {
      idleP50: add(`${prefix}.idle.p50`, label, 'idle, 20 events/s', 'latency p50', 'ms', at('idle', 'p50Ms'), own),
      idleP95: add(`${prefix}.idle.p95`, label, 'idle, 20 events/s', 'latency p95', 'ms', at('idle', 'p95Ms'), own),
      idleP99: add(`${prefix}.idle.p99`, label, 'idle, 20 events/s', 'latency p99', 'ms', at('idle', 'p99Ms'), { ...own, note: arrivalNote(f?.idle) }),
      singleIngest: add(`${prefix}.single.ingest`, label, 'single-event mutations, c16', 'ingest', 'events/s', at('single', 'ingestPerSec'), own),
      singleDelivered: add(`${prefix}.single.delivered`, label, 'single-event mutations, c16', 'delivered', 'events/s', at('single', 'deliveredPerSec'), { ...own, note: arrivalNote(f?.single) }),
      batchIngest: add(`${prefix}.batch.ingest`, label, '100-event batches, c4', 'ingest', 'events/s', at('batch', 'ingestPerSec'), own),
      batchDelivered: add(`${prefix}.batch.delivered`, label, '100-event batches, c4', 'delivered', 'events/s', at('batch', 'deliveredPerSec'), { ...own, note: arrivalNote(f?.batch) }),
      drain: add(`${prefix}.backlog.drain`, label, `backlog of ${backlog?.events ?? '?'} while receiver down`, 'drain', 'events/s', at('backlog', 'drainPerSec'), {
        ...own,
        note: backlog && !backlog.skipped ? (backlog.complete ? `all arrived ${backlog.drainSeconds.toFixed(1)} s after the receiver came back` : `incomplete: ${backlog.arrived} of ${backlog.events} arrived within ${backlog.drainSeconds.toFixed(0)} s`) : undefined,
      }),
      rss: add(`${prefix}.rss.peak`, label, rssScenario, 'peak RSS', 'MB', f?.peakRssMb ?? null, own),
    };
    return rowsOf;
  };
  const a = partyRows('audithook', 'audithook', r.audithook);

  // Tenant isolation: the healthy organization alone, then beside the hanging ones (SQLite here, PostgreSQL with its rows).
  const isolationRows = (prefix, label, isolation, own = {}) => {
    const isolationNote = isolation?.skipped; // e.g. an event that never arrived: no figure rather than a flattering one
    const hangingLabel = `beside ${isolation?.hangingTenants ?? 40} orgs whose receivers hang`;
    const isoFigure = (phase, key) => isolation?.[phase]?.[key] ?? null;
    const isoAloneP50 = add(`${prefix}.isolation.alone.p50`, label, 'tenant isolation: healthy org alone, 20 events/s', 'latency p50', 'ms', isoFigure('alone', 'p50Ms'), own);
    const isoAloneP95 = add(`${prefix}.isolation.alone.p95`, label, 'tenant isolation: healthy org alone, 20 events/s', 'latency p95', 'ms', isoFigure('alone', 'p95Ms'), own);
    const isoBesideP50 = add(`${prefix}.isolation.beside.p50`, label, `tenant isolation: healthy org ${hangingLabel}`, 'latency p50', 'ms', isoFigure('beside', 'p50Ms'), own);
    const isoBesideP95 = add(`${prefix}.isolation.beside.p95`, label, `tenant isolation: healthy org ${hangingLabel}`, 'latency p95', 'ms', isoFigure('beside', 'p95Ms'), { ...own, note: isolationNote });
    isoBesideP50.comparisons.push(compare(isoBesideP50, { against: isoAloneP50, label: 'alone p50' }));
    const targetMs = isoAloneP95.value === null ? null : Math.max(200, 3 * isoAloneP95.value);
    isoBesideP95.comparisons.push(
      compare(isoBesideP95, { label: `max(200 ms, 3× alone p95)${targetMs === null ? '' : ` = ${fmt(targetMs, 'ms')}`}`, budget: targetMs, op: '<=', target: 1 }),
    );
    isoBesideP95.comparisons.push(compare(isoBesideP95, { against: isoAloneP95, label: 'alone p95' }));
  };
  isolationRows('audithook', 'audithook', r.audithook?.isolation);
  // Retention (audithook only): idle latency on a database with a large old history, quiet, then while the prune job removes it.
  const prune = r.audithook?.prune;
  const pruneFigure = (phase, key) => prune?.[phase]?.[key] ?? null;
  const history = `${prune?.seededDeliveries?.toLocaleString('en-US') ?? '?'} old deliveries`;
  const pruneQuietP50 = add('audithook.prune.quiet.p50', 'audithook', `idle, 20 events/s, ${history} stored, no prune`, 'latency p50', 'ms', pruneFigure('quiet', 'p50Ms'));
  const pruneQuietP99 = add('audithook.prune.quiet.p99', 'audithook', `idle, 20 events/s, ${history} stored, no prune`, 'latency p99', 'ms', pruneFigure('quiet', 'p99Ms'));
  const pruneDuringP50 = add('audithook.prune.during.p50', 'audithook', `idle, 20 events/s, while pruning the ${history}`, 'latency p50', 'ms', pruneFigure('during', 'p50Ms'));
  const pruneDuringP99 = add('audithook.prune.during.p99', 'audithook', `idle, 20 events/s, while pruning the ${history}`, 'latency p99', 'ms', pruneFigure('during', 'p99Ms'), {
    note: prune?.skipped ?? (prune && prune.overlapped === false ? 'the prune finished before the window ended: part of it was quiet' : prune?.pruneSeconds ? `the prune took ${prune.pruneSeconds.toFixed(1)} s in batches of 500 rows` : undefined),
  });
  pruneDuringP50.comparisons.push(compare(pruneDuringP50, { against: pruneQuietP50, label: 'no prune p50' }));
  pruneDuringP99.comparisons.push(compare(pruneDuringP99, { label: 'budget 25 ms', budget: 25, op: '<=', target: 1 }));
  pruneDuringP99.comparisons.push(compare(pruneDuringP99, { against: pruneQuietP99, label: 'no prune p99' }));
  const b = partyRows('bullmq', 'BullMQ peer', r.bullmq, { rssScenario: 'whole run (server + worker, Redis not counted)' });

  // Targets (met / not met), each as a ratio.
  a.idleP50.comparisons.push(compare(a.idleP50, { label: 'budget 5 ms', budget: 5, op: '<=', target: 1 }));
  a.idleP99.comparisons.push(compare(a.idleP99, { label: 'budget 25 ms', budget: 25, op: '<=', target: 1 }));
  a.singleIngest.comparisons.push(compare(a.singleIngest, { against: apolloSingle, label: 'bare Apollo', op: '>=', target: 0.5 }));
  a.batchIngest.comparisons.push(compare(a.batchIngest, { against: apolloBatch, label: 'bare Apollo batched', op: '>=', target: 0.5 }));
  a.singleDelivered.comparisons.push(compare(a.singleDelivered, { against: rawC16, label: 'raw loop c16' }));
  a.batchDelivered.comparisons.push(compare(a.batchDelivered, { against: rawC16, label: 'raw loop c16', op: '>=', target: 10 }));
  a.drain.comparisons.push(compare(a.drain, { against: rawC16, label: 'raw loop c16', op: '>=', target: 10 }));
  a.rss.comparisons.push(compare(a.rss, { label: 'budget 200 MB', budget: 200, op: '<=', target: 1 }));
  // Ahead of the peer: on every throughput figure (ratio > 1) and on idle p99 (ratio < 1).
  for (const key of ['singleIngest', 'singleDelivered', 'batchIngest', 'batchDelivered', 'drain']) a[key].comparisons.push(compare(a[key], { against: b[key], label: 'BullMQ peer', op: '>', target: 1 }));
  a.idleP99.comparisons.push(compare(a.idleP99, { against: b.idleP99, label: 'BullMQ peer', op: '<', target: 1 }));
  a.idleP50.comparisons.push(compare(a.idleP50, { against: b.idleP50, label: 'BullMQ peer' }));
  a.idleP95.comparisons.push(compare(a.idleP95, { against: b.idleP95, label: 'BullMQ peer' }));
  a.rss.comparisons.push(compare(a.rss, { against: b.rss, label: 'BullMQ peer' }));
  // The peer's own ratios to the same baselines, for reading (no targets).
  b.singleIngest.comparisons.push(compare(b.singleIngest, { against: apolloSingle, label: 'bare Apollo' }));
  b.batchIngest.comparisons.push(compare(b.batchIngest, { against: apolloBatch, label: 'bare Apollo batched' }));
  for (const key of ['singleDelivered', 'batchDelivered', 'drain']) b[key].comparisons.push(compare(b[key], { against: rawC16, label: 'raw loop c16' }));

  // audithook on PostgreSQL (--database postgres): one api process and N workers per block r.postgres.wN,
  // with ratios to the same baselines, to audithook on SQLite and the peer of this run, and to 1 worker. No targets.
  let oneWorker = null;
  for (const [key, f] of Object.entries(r.postgres ?? {})) {
    const workers = f.workers;
    const label = `audithook PostgreSQL, ${workers} worker${workers === 1 ? '' : 's'}`;
    const p = partyRows(`audithook.postgres.${key}`, label, f, { rssScenario: `whole run (api + ${workers} worker${workers === 1 ? '' : 's'}, PostgreSQL not counted)`, skipped: f.skipped ?? null });
    p.singleIngest.comparisons.push(compare(p.singleIngest, { against: apolloSingle, label: 'bare Apollo' }));
    p.batchIngest.comparisons.push(compare(p.batchIngest, { against: apolloBatch, label: 'bare Apollo batched' }));
    for (const k of ['singleDelivered', 'batchDelivered', 'drain']) p[k].comparisons.push(compare(p[k], { against: rawC16, label: 'raw loop c16' }));
    for (const k of Object.keys(p)) {
      p[k].comparisons.push(compare(p[k], { against: a[k], label: 'audithook SQLite' }));
      p[k].comparisons.push(compare(p[k], { against: b[k], label: 'BullMQ peer' }));
      if (oneWorker && workers > 1) p[k].comparisons.push(compare(p[k], { against: oneWorker[k], label: 'PostgreSQL, 1 worker' }));
    }
    if (workers === 1) oneWorker = p;
    if (f.isolation) isolationRows(`audithook.postgres.${key}`, label, f.isolation, { skipped: f.skipped ?? null });
  }
  return rows;
}

/** Targets met, not met, and undecided (a figure missing), over every comparison that has a target. */
export function summarize(rows) {
  const targets = rows.flatMap((row) => row.comparisons.filter((c) => c.target).map((c) => ({ row: row.id, ...c })));
  return { targets: targets.length, met: targets.filter((t) => t.met === true).length, notMet: targets.filter((t) => t.met === false).length, undecided: targets.filter((t) => t.met === null).length };
}

/** The table as printed: one line per figure, a continuation line per further comparison. */
export function formatTable(rows) {
  const header = ['party', 'scenario', 'figure', 'compared with', 'ratio', 'target', 'met'];
  const lines = [];
  for (const row of rows) {
    const status = row.status.length > 40 ? `${row.status.slice(0, 39)}…` : row.status; // the JSON has it whole
    const figure = row.status === 'ok' ? `${row.metric} ${fmt(row.value, row.unit)}` : `${row.metric}: ${status}`;
    const comparisons = row.comparisons.length > 0 ? row.comparisons : [null];
    comparisons.forEach((c, i) => {
      lines.push([
        i === 0 ? row.party : '',
        i === 0 ? row.scenario : '',
        i === 0 ? figure : '',
        c ? c.label : '',
        c && c.ratio !== null ? `${c.ratio.toFixed(2)}×` : c ? '—' : '',
        c?.target ? `${c.target.op} ${c.target.value}×` : '',
        c?.target ? (c.met === null ? '?' : c.met ? 'met' : 'NOT MET') : '',
      ]);
    });
    if (row.note) lines.push(['', `  (${row.note})`, '', '', '', '', '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render)].join('\n');
}
