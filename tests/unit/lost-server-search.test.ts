// The lost-server search is a side path: against a Keystone and Nova that fail (an HTTP server on
// 127.0.0.1 speaking their protocol), it tries 5xx answers again a bounded number of times, gives
// up at once on others, and returns why instead of failing the deployment.
import * as assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { listFleetServers } from "../../fleet/lost-servers";
import { RUNNER_METADATA_KEY, STACK_METADATA_KEY } from "../../rules/server-metadata";

/** Answers Keystone logins with `login()` statuses in turn (then 201), and one Nova listing. */
async function fakeCloud(loginStatuses: number[], novaStatus = 200) {
  const requests: string[] = [];
  const server = http.createServer((req, res): void => {
    requests.push(`${req.method} ${req.url}`);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === "/v3/auth/tokens") {
      const status = loginStatuses.shift() ?? 201;
      if (status !== 201) {
        res.writeHead(status).end("{}");
        return;
      }
      res.writeHead(201, { "x-subject-token": "tok", "content-type": "application/json" });
      res.end(
        JSON.stringify({
          token: {
            catalog: [
              { type: "compute", endpoints: [{ interface: "public", url: `${base}/compute` }] },
            ],
          },
        }),
      );
      return;
    }
    if (req.url?.startsWith("/compute/servers/detail")) {
      if (novaStatus !== 200) {
        res.writeHead(novaStatus).end("{}");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          servers: [
            {
              id: "s1",
              key_name: "ci-a",
              metadata: { [STACK_METADATA_KEY]: "o/p/s", [RUNNER_METADATA_KEY]: "ci-a" },
            },
          ],
        }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const env = {
    OS_AUTH_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`,
    OS_USERNAME: "fleet",
    OS_PASSWORD: "pw",
    OS_PROJECT_NAME: "runners",
  };
  return { env, requests, close: () => new Promise((r) => server.close(r)) };
}

const retry = { attempts: 3, delayMs: 10 };

describe("the lost-server search, a side path", function () {
  it("tries a Keystone 503 again and finds the stack's servers", async function () {
    const cloud = await fakeCloud([503]);
    try {
      const found = await listFleetServers("ci", ["o/p/s"], cloud.env, retry);
      assert.deepEqual(found, [{ id: "s1", runnerName: "ci-a", keyName: "ci-a", stack: "o/p/s" }]);
      assert.equal(cloud.requests.filter((r) => r === "POST /v3/auth/tokens").length, 2);
    } finally {
      await cloud.close();
    }
  });

  it("gives up after the bounded tries on 5xx, saying why instead of throwing", async function () {
    const cloud = await fakeCloud([201, 201, 201], 500);
    try {
      const found = await listFleetServers("ci", ["o/p/s"], cloud.env, retry);
      assert.deepEqual(found, {
        skipped: "the search failed (3 tries): Nova: GET servers: HTTP 500",
      });
      assert.equal(cloud.requests.filter((r) => r.startsWith("GET /compute")).length, 3);
    } finally {
      await cloud.close();
    }
  });

  it("does not try a refused login again", async function () {
    const cloud = await fakeCloud([401]);
    try {
      const found = await listFleetServers("ci", ["o/p/s"], cloud.env, retry);
      assert.ok("skipped" in found);
      assert.match(found.skipped, /^the search failed: Keystone login at .*: HTTP 401$/);
      assert.equal(cloud.requests.length, 1);
    } finally {
      await cloud.close();
    }
  });

  it("says why when it has no credentials", async function () {
    assert.deepEqual(await listFleetServers("ci", ["o/p/s"], {}, retry), {
      skipped: "neither OS_AUTH_URL nor OS_CLOUD is set",
    });
  });
});
