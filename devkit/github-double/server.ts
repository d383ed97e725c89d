// Starts the double: one HTTP server on 127.0.0.1 for the GitHub REST API, the simulated runner
// agents' `/_runner/` API, the `/_control/` API and the runner downloads.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { systemClock } from "./clock";
import { createControl } from "./control";
import { handleControlRequest } from "./control-api";
import { DoubleState } from "./double-state";
import { readBody, writeJson } from "./http-io";
import { prefixedToken } from "./random-ids";
import { handleRestRequest } from "./rest-pipeline";
import { handleAgentRequest } from "./runner-agent-api";
import { emptyTarball } from "./runner-downloads";
import type { GitHubDouble, GitHubDoubleControl, GitHubDoubleOptions, TokenGrant } from "./types";

/**
 * Starts a GitHub REST API double on 127.0.0.1. Without `tokens`, or without an admin token among
 * them, a random admin token is added; it is `adminToken` of the result.
 */
export async function startGitHubDouble(opts: GitHubDoubleOptions = {}): Promise<GitHubDouble> {
  const tokens: TokenGrant[] = [...(opts.tokens ?? [])];
  let adminToken = tokens.find((t) => t.access === "admin")?.token;
  if (adminToken === undefined) {
    adminToken = prefixedToken("ghp_");
    tokens.push({ token: adminToken, access: "admin" });
  }
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const state = new DoubleState({
    baseUrl: url,
    clock: opts.clock ?? systemClock,
    tokens,
    apps: opts.apps ?? [],
    runnerTarball: opts.runnerTarball ?? emptyTarball(),
  });
  const control = createControl(state);
  // Only now is the port known, so no request can have come before the handler.
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    serve(state, control, req, res).catch((err: unknown) => {
      // A bug in the double, not a simulated failure: say so loudly.
      console.error("github-double:", err);
      if (!res.headersSent) writeJson(res, 500, { message: `github-double: ${String(err)}` });
      else res.destroy();
    });
  });

  return {
    url,
    port,
    adminToken,
    control,
    close: () =>
      new Promise<void>((resolve, reject) => {
        state.dispatcher.shutdown();
        state.contact.shutdown();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function serve(
  state: DoubleState,
  control: GitHubDoubleControl,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", state.baseUrl);
  const rawBody = await readBody(req);
  if (url.pathname.startsWith("/_control/")) {
    handleControlRequest(control, req, res, url, rawBody);
  } else if (url.pathname.startsWith("/_runner/")) {
    await handleAgentRequest(state, req, res, url, rawBody);
  } else if (req.method === "GET" && state.releases.isDownload(url.pathname)) {
    res
      .writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": String(state.runnerTarball.length),
      })
      .end(state.runnerTarball);
  } else {
    await handleRestRequest(state, req, res, url, rawBody);
  }
}
