import { useEffect, useMemo, useState } from 'react';
import type { OperationResult } from '@urql/core';
import { useClient } from 'urql';
import { CHART_DELIVERIES_QUERY, type ChartAttempt, type Connection } from '../api/operations';

import { useRetryWhenReachable } from '../app/connectivity';
import { useLive } from '../app/live-attempts';
import { formatClock, formatDurationMs, zoneName } from './format';
import { useNow } from './hooks';

type ChartData = { deliveries: Connection<{ id: string; createdAt: string; attempts: ChartAttempt[] }> };

/** The chart's span: the last hour, one bar per minute. */
const WINDOW_MINUTES = 60;
const MINUTE_MS = 60_000;
/** Deliveries asked per page when loading the last hour's attempts, and at most how many pages. */
const HISTORY_PAGE_SIZE = 100;
const HISTORY_MAX_PAGES = 5;
/** How often the chart asks the server again (live attempts fill in between). */
const HISTORY_REFRESH_MS = 60_000;

const WIDTH = 760;
const HEIGHT = 210;
const MARGIN = { top: 14, right: 58, bottom: 26, left: 40 };

/** The last hour's attempts as the server gave them: null until its first answer, with the last failure's message. */
interface History {
  attempts: ChartAttempt[] | null;
  error: string | null;
  /** The last failure was the server not being reached (so it is worth asking again once it answers). */
  unreachable: boolean;
}

/** Loads attempts of deliveries created in the last hour (newest first, a few pages at most); asks again when the server is back. */
function useHistory(org: string): History {
  const client = useClient();
  const [history, setHistory] = useState<History>({ attempts: null, error: null, unreachable: false });
  const [generation, setGeneration] = useState(0);
  useRetryWhenReachable(history.unreachable, () => setGeneration((g) => g + 1));
  useEffect(() => {
    let cancelled = false;
    const load = async () => {
      const since = new Date(Date.now() - WINDOW_MINUTES * MINUTE_MS).toISOString();
      const found: ChartAttempt[] = [];
      let after: string | null = null;
      for (let page = 0; page < HISTORY_MAX_PAGES; page++) {
        const result: OperationResult<ChartData> = await client.query(CHART_DELIVERIES_QUERY, { org, first: HISTORY_PAGE_SIZE, after }).toPromise();
        const connection = result.data?.deliveries;
        if (!connection) {
          const message = result.error ? (result.error.networkError ? `Could not reach the server: ${result.error.networkError.message}` : result.error.message) : 'no answer';
          if (!cancelled) setHistory((h) => ({ attempts: h.attempts, error: message, unreachable: Boolean(result.error?.networkError) }));
          return;
        }
        for (const { node } of connection.edges) found.push(...node.attempts.filter((a) => a.startedAt >= since));
        const oldest = connection.edges.at(-1)?.node.createdAt;
        // Deliveries are newest first; one created before the window may still retry inside it, so one more page is read past it.
        if (!connection.pageInfo.hasNextPage || (oldest && oldest < since && page > 0)) break;
        after = connection.pageInfo.endCursor;
      }
      if (!cancelled) setHistory({ attempts: found, error: null, unreachable: false });
    };
    void load();
    const timer = window.setInterval(() => void load(), HISTORY_REFRESH_MS);
    return () => {
      cancelled = true;
      window.clearInterval(timer);
    };
  }, [client, org, generation]);
  return history;
}

interface Bucket {
  startMs: number;
  succeeded: number;
  failed: number;
  avgLatencyMs: number | null;
}

/** Whole-number ticks from 0 to a nice maximum: its half too when that is whole (0, 1 / 0, 1, 2 / 0, 5 / 0, 5, 10). */
export function axisTicks(max: number): number[] {
  return max % 2 === 0 ? [0, max / 2, max] : [0, max];
}

/** Rounds a maximum up to 1, 2 or 5 times a power of ten, for axis ticks. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/** Attempts per minute of the last hour by outcome (stacked bars) with average latency (line), drawn in SVG. */
export function AttemptsChart({ org }: { org: string }) {
  const { attempts: history, error: historyError } = useHistory(org);
  const { attempts: live } = useLive();
  const loading = history === null;
  const now = useNow(5000);

  const { buckets, total, succeeded, p95Ms } = useMemo(() => {
    const byId = new Map<string, ChartAttempt>();
    for (const a of history ?? []) byId.set(a.id, a);
    for (const { attempt } of live) byId.set(attempt.id, attempt);
    const firstMs = Math.floor(now / MINUTE_MS) * MINUTE_MS - (WINDOW_MINUTES - 1) * MINUTE_MS;
    const slots = Array.from({ length: WINDOW_MINUTES }, (_, i) => ({ startMs: firstMs + i * MINUTE_MS, succeeded: 0, failed: 0, latencySum: 0 }));
    const durations: number[] = [];
    for (const attempt of byId.values()) {
      const index = Math.floor((new Date(attempt.startedAt).getTime() - firstMs) / MINUTE_MS);
      const slot = slots[index];
      if (!slot) continue;
      if (attempt.outcome === 'SUCCEEDED') slot.succeeded++;
      else slot.failed++;
      slot.latencySum += attempt.durationMs;
      durations.push(attempt.durationMs);
    }
    durations.sort((a, b) => a - b);
    const result: Bucket[] = slots.map((s) => ({ startMs: s.startMs, succeeded: s.succeeded, failed: s.failed, avgLatencyMs: s.succeeded + s.failed > 0 ? s.latencySum / (s.succeeded + s.failed) : null }));
    return {
      buckets: result,
      total: durations.length,
      succeeded: result.reduce((n, b) => n + b.succeeded, 0),
      p95Ms: durations.length ? durations[Math.min(durations.length - 1, Math.ceil(durations.length * 0.95) - 1)]! : null,
    };
  }, [history, live, now]);

  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const countMax = niceMax(Math.max(...buckets.map((b) => b.succeeded + b.failed)));
  const latencyMax = niceMax(Math.max(0, ...buckets.map((b) => b.avgLatencyMs ?? 0)));
  const slotWidth = plotWidth / WINDOW_MINUTES;
  const barWidth = Math.max(2, slotWidth * 0.7);
  const y = (count: number) => MARGIN.top + plotHeight - (count / countMax) * plotHeight;
  const yLatency = (ms: number) => MARGIN.top + plotHeight - (ms / latencyMax) * plotHeight;
  const x = (index: number) => MARGIN.left + index * slotWidth;
  const latencyPoints = buckets.map((b, i) => (b.avgLatencyMs === null ? null : { x: x(i) + slotWidth / 2, y: yLatency(b.avgLatencyMs) }));

  // Latency as line segments between consecutive minutes that had attempts.
  const segments: string[] = [];
  let current: string[] = [];
  for (const point of latencyPoints) {
    if (point) current.push(`${point.x.toFixed(1)},${point.y.toFixed(1)}`);
    else if (current.length) {
      segments.push(current.join(' '));
      current = [];
    }
  }
  if (current.length) segments.push(current.join(' '));

  const hasLatency = latencyPoints.some(Boolean);
  const zone = zoneName();
  const summary =
    total > 0
      ? `${total} attempt${total === 1 ? '' : 's'} · ${Math.round((succeeded / total) * 100)}% succeeded · p95 latency ${formatDurationMs(p95Ms)}`
      : historyError
        ? `Could not load the last hour: ${historyError}`
        : loading
          ? 'Loading…'
          : 'No attempts in the last hour.';
  return (
    <div className="card chart-card" data-testid="attempts-chart" data-total={total} data-loading={loading} aria-busy={loading}>
      <div className="card-header">
        <div>
          <h2>Last hour</h2>
          <p className={historyError && total === 0 ? 'field-error' : 'muted'} data-testid="chart-summary" role="status">
            {summary}
          </p>
        </div>
        <div className="legend" aria-hidden="true">
          <span>
            <i className="swatch swatch-good" /> Succeeded
          </span>
          <span>
            <i className="swatch swatch-bad" /> Failed
          </span>
          <span>
            <i className="swatch swatch-line" /> Avg latency
          </span>
        </div>
      </div>
      <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={loading ? 'Delivery attempts per minute in the last hour: loading' : `Delivery attempts per minute in the last hour: ${total} in all, ${succeeded} succeeded`}>
        {axisTicks(countMax).map((count) => (
          <g key={`count-${count}`}>
            <line className="grid" x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(count)} y2={y(count)} />
            <text className="axis axis-count" x={MARGIN.left - 6} y={y(count) + 4} textAnchor="end">
              {count}
            </text>
          </g>
        ))}
        {hasLatency
          ? axisTicks(latencyMax).map((ms) => (
              <text key={`latency-${ms}`} className="axis axis-latency" x={WIDTH - MARGIN.right + 6} y={yLatency(ms) + 4} textAnchor="start">
                {formatDurationMs(ms)}
              </text>
            ))
          : null}
        {buckets.map((bucket, i) => {
          const barX = x(i) + (slotWidth - barWidth) / 2;
          const okTop = y(bucket.succeeded);
          const failTop = y(bucket.succeeded + bucket.failed);
          return (
            <g key={bucket.startMs}>
              {bucket.succeeded > 0 ? <rect className="bar-good" x={barX} y={okTop} width={barWidth} height={y(0) - okTop} rx={1} /> : null}
              {bucket.failed > 0 ? <rect className="bar-bad" x={barX} y={failTop} width={barWidth} height={okTop - failTop} rx={1} /> : null}
              <rect className="hover-target" x={x(i)} y={MARGIN.top} width={slotWidth} height={plotHeight}>
                <title>
                  {`${formatClock(bucket.startMs)} ${zone}: ${bucket.succeeded} succeeded, ${bucket.failed} failed${bucket.avgLatencyMs === null ? '' : `, avg ${formatDurationMs(Math.round(bucket.avgLatencyMs))}`}`}
                </title>
              </rect>
            </g>
          );
        })}
        {segments.map((points) => (
          <polyline key={points} className="latency-line" points={points} />
        ))}
        {latencyPoints.map((p, i) => (p ? <circle key={i} className="latency-dot" cx={p.x} cy={p.y} r={2.5} /> : null))}
        <line className="baseline" x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(0)} y2={y(0)} />
        {[0, 15, 30, 45, 59].map((i) => (
          <text key={i} className="axis" x={x(i) + slotWidth / 2} y={HEIGHT - 8} textAnchor="middle">
            {i === 59 ? 'now' : i === 0 ? `${formatClock(buckets[i]!.startMs)} ${zone}` : formatClock(buckets[i]!.startMs)}
          </text>
        ))}
      </svg>
    </div>
  );
}
