// The controller's small HTTP endpoints: /healthz and /readyz on the health port, /metrics on the
// metrics port (the same server when both ports are equal).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = () => Promise<{ status: number; body: string; contentType?: string }>;

export interface HttpEndpoint {
  port: number;
  close(): Promise<void>;
}

export async function serve(port: number, host: string, routes: Record<string, Route>): Promise<HttpEndpoint> {
  const server = http.createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0] ?? '/'];
    if (route === undefined || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    route().then(
      (r) => res.writeHead(r.status, { 'content-type': r.contentType ?? 'text/plain' }).end(r.body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
