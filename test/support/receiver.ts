import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver got it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  receivedAt: number;
}

/** Decides the answer to the n-th request (0-based); may write the response itself and return nothing. */
export type Responder = (request: ReceivedRequest, index: number, response: ServerResponse) => { status: number; body?: string; headers?: Record<string, string> } | void;

/** A real HTTP receiver on 127.0.0.1 that records everything and answers as told. */
export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  respond(responder: Responder): void;
  /** Every event id received, across all requests. */
  eventIds(): string[];
  close(): Promise<void>;
}

/** Starts a loopback receiver answering 200 until told otherwise. */
export async function startReceiver(path = '/hooks/audit'): Promise<Receiver> {
  let responder: Responder = () => ({ status: 200, body: 'ok' });
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      const request: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, receivedAt: Date.now() };
      const index = requests.length;
      requests.push(request);
      const answer = responder(request, index, res);
      if (answer) {
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body ?? '');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    requests,
    respond(next) {
      responder = next;
    },
    eventIds() {
      return requests.flatMap((r) => (Array.isArray(r.json?.data) ? r.json.data.map((e: { id: string }) => e.id) : []));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
