/** The parser the metrics test checks /metrics with; the package ships no types. */
declare module 'parse-prometheus-text-format' {
  /** One metric family: name, help, type and its samples (histograms carry buckets). */
  interface MetricFamily {
    name: string;
    help: string;
    type: string;
    metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
  }
  /** Parses Prometheus text exposition format. */
  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
