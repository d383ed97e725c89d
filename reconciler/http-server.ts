// The reconciler's HTTP face: GitHub's webhook deliveries (POST /webhook, reconciler/
// webhook-receiver.ts), /healthz for the supervisor and the load balancer, /metrics for Prometheus.
import * as http from "node:http";
import type { Registry } from "prom-client";

export interface HttpRoutes {
  webhook: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  health: () => object;
  registry: Registry;
}

export function reconcilerServer(routes: HttpRoutes): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://reconciler");
    const handle = async (): Promise<void> => {
      if (url.pathname === "/webhook") return routes.webhook(req, res);
      if (req.method !== "GET") {
        res.writeHead(405, { "content-type": "text/plain" }).end("GET only\n");
        return;
      }
      if (url.pathname === "/healthz") {
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(`${JSON.stringify(routes.health())}\n`);
        return;
      }
      if (url.pathname === "/metrics") {
        const body = await routes.registry.metrics();
        res.writeHead(200, { "content-type": routes.registry.contentType }).end(body);
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    };
    handle().catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`${err.message}\n`);
    });
  });
}
