// An HTTPS front for the local cloud, with a CA of its own: the local Keystone, Nova and Neutron
// speak plain HTTP on 127.0.0.1, while a production cloud is often behind a private CA. The front
// serves `https://127.0.0.1:<port>/<service>/…` for each service and rewrites Keystone's catalog
// to point at itself, so every call of a client that logs in through it goes over TLS.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** The plain services behind the front, by the path prefix it serves them under. */
const UPSTREAMS: Record<string, string> = {
  identity: "http://127.0.0.1:5000",
  compute: "http://127.0.0.1:8774",
  network: "http://127.0.0.1:9696",
};

export interface TlsFront {
  /** `https://127.0.0.1:<port>/identity/v3`: an OS_AUTH_URL. */
  authUrl: string;
  /** The CA certificate (PEM file) that signed the front's certificate. */
  caFile: string;
  close(): Promise<void>;
}

/** A CA and a certificate it signed for 127.0.0.1, made with openssl in `dir`. */
function makeCertificates(dir: string): { ca: string; key: string; cert: string } {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=runner-fleet test CA",
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
  );
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    file("front.key"),
    "-out",
    file("front.csr"),
  );
  fs.writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-days",
    "1",
    "-in",
    file("front.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-extfile",
    file("san.ext"),
    "-out",
    file("front.pem"),
  );
  return { ca: file("ca.pem"), key: file("front.key"), cert: file("front.pem") };
}

export async function startTlsFront(): Promise<TlsFront> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-front-"));
  const certs = makeCertificates(dir);
  let base = "";
  const server = https.createServer(
    { key: fs.readFileSync(certs.key), cert: fs.readFileSync(certs.cert) },
    (req, res) => {
      const [, service, ...rest] = (req.url ?? "/").split("/");
      const upstream = UPSTREAMS[service];
      if (!upstream) {
        res.writeHead(404).end();
        return;
      }
      const headers = {
        ...req.headers,
        host: new URL(upstream).host,
        "accept-encoding": "identity",
      };
      const forward = http.request(
        `${upstream}/${rest.join("/")}`,
        { method: req.method, headers },
        (up) => {
          const chunks: Buffer[] = [];
          up.on("data", (c: Buffer) => chunks.push(c));
          up.on("end", () => {
            let body = Buffer.concat(chunks);
            // The body may change length: the front sets its own.
            const upHeaders = { ...up.headers };
            delete upHeaders["content-length"];
            if (service === "identity" && /json/.test(up.headers["content-type"] ?? "")) {
              // The catalog names the plain services: point each at the front instead.
              let text = body.toString("utf8");
              for (const [name, url] of Object.entries(UPSTREAMS))
                text = text.split(url).join(`${base}/${name}`);
              body = Buffer.from(text);
            }
            res.writeHead(up.statusCode ?? 502, { ...upHeaders, "content-length": body.length });
            res.end(body);
          });
        },
      );
      forward.on("error", () => res.writeHead(502).end());
      req.pipe(forward);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    authUrl: `${base}/identity/v3`,
    caFile: certs.ca,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
