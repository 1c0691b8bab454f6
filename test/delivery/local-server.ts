// A real node:http server on a loopback address, recording connections and requests, for the
// delivery tests. Never binds anything but 127.0.0.1 / ::1.
import http from 'node:http';
import net from 'node:net';

/** A request as the test server saw it. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  remotePort: number | undefined;
}

/** Handle to a running loopback test server. */
export interface LocalServer {
  port: number;
  /** Base URL using the literal bind address, e.g. http://127.0.0.1:1234 or http://[::1]:1234. */
  origin: string;
  /** TCP connections accepted so far. */
  connectionCount(): number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Handler that receives the already-read request body. */
export type LocalHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** Starts a server on host (default 127.0.0.1) at an ephemeral port. */
export async function startLocalServer(handler: LocalHandler, host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<LocalServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, remotePort: req.socket.remotePort });
      handler(req, res, body);
    });
  });
  server.on('connection', (socket: net.Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    origin: host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`,
    connectionCount: () => connections,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
