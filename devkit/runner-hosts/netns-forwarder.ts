// Runs inside a runner host's network namespace (plain `node`, no tsx: type stripping only):
// listens on 127.0.0.1:<port> there and pipes each connection to a Unix socket of the
// simulator, which pipes it on to 127.0.0.1:<port> of the machine, where the GitHub double
// listens. Unix sockets are not tied to a network namespace, so no traffic leaves loopback.
//   node netns-forwarder.ts <port>=<unix socket path> [...]
// Prints "listening" once every port is bound; ends on SIGTERM, or with the host.
import * as net from "node:net";

const pairs = process.argv.slice(2).map((arg) => {
  const at = arg.indexOf("=");
  return { port: Number(arg.slice(0, at)), socketPath: arg.slice(at + 1) };
});
if (
  pairs.length === 0 ||
  pairs.some((p) => !Number.isInteger(p.port) || p.port <= 0 || !p.socketPath)
) {
  console.error("usage: node netns-forwarder.ts <port>=<unix socket path> [...]");
  process.exit(2);
}

function forward(port: number, socketPath: string): Promise<void> {
  const server = net.createServer((inbound) => {
    const outbound = net.connect(socketPath);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", end);
    outbound.on("error", end);
    inbound.on("close", end);
    outbound.on("close", end);
  });
  server.on("error", (err) => {
    console.error(`netns-forwarder: 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
}

Promise.all(pairs.map((p) => forward(p.port, p.socketPath))).then(() => console.log("listening"));
process.on("SIGTERM", () => process.exit(0));
