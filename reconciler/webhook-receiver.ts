// GitHub's webhook deliveries, received over HTTP: the `X-Hub-Signature-256` HMAC verified against
// the webhook secret (@octokit/webhooks), `workflow_job` deliveries handed to the job queue, the
// rest answered and ignored. Nothing a bad delivery says changes the queue.
//
// 401 bad or missing signature · 400 not JSON, or not a `workflow_job` payload · 413 body over
// the limit · 204 an event other than `workflow_job` (and `ping`) · 200 a duplicate delivery ·
// 202 applied (or stale: a job never goes back) · 405 not a POST.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { JobQueue, WorkflowJobPayload } from "./job-queue";

/** GitHub caps a payload at 25 MB; a `workflow_job` one is a few KB. */
export const MAX_DELIVERY_BYTES = 1024 * 1024;

export interface ReceiverOptions {
  secret: string;
  queue: JobQueue;
  /** Called after each delivery that changed the queue. */
  onChange?: (payload: WorkflowJobPayload) => void;
  /** Called with the HTTP status of each answer (for the metrics). */
  onAnswer?: (status: number) => void;
}

export function webhookReceiver(opts: ReceiverOptions) {
  const verifier = loadVerifier(opts.secret);
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const answer = (status: number, message: string): void => {
      opts.onAnswer?.(status);
      res.writeHead(status, { "content-type": "text/plain" }).end(`${message}\n`);
    };
    if (req.method !== "POST") return answer(405, "POST only");
    const body = await readLimited(req, MAX_DELIVERY_BYTES);
    if (body === undefined) return answer(413, `body over ${MAX_DELIVERY_BYTES} bytes`);
    const signature = req.headers["x-hub-signature-256"];
    const text = body.toString("utf8");
    const verified =
      typeof signature === "string" &&
      (await (await verifier).verify(text, signature).catch(() => false));
    if (!verified) {
      return answer(401, "signature does not match the webhook secret");
    }
    const event = req.headers["x-github-event"];
    const delivery = req.headers["x-github-delivery"];
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return answer(400, "body is not JSON");
    }
    if (event === "ping") return answer(200, "pong");
    if (event !== "workflow_job") return answer(204, "");
    if (typeof delivery !== "string" || delivery === "") {
      return answer(400, "X-GitHub-Delivery is missing");
    }
    if (!isWorkflowJobPayload(payload)) return answer(400, "not a workflow_job payload");
    const outcome = opts.queue.apply(delivery, payload);
    if (outcome === "duplicate") return answer(200, "duplicate delivery");
    if (outcome === "applied") opts.onChange?.(payload);
    return answer(202, outcome);
  };
}

async function loadVerifier(secret: string) {
  const { Webhooks } = await import("@octokit/webhooks");
  return new Webhooks({ secret });
}

function isWorkflowJobPayload(v: unknown): v is WorkflowJobPayload {
  const job = (v as WorkflowJobPayload | null)?.workflow_job;
  return (
    typeof (v as WorkflowJobPayload | null)?.action === "string" &&
    typeof job === "object" &&
    job !== null &&
    Number.isInteger(job.id) &&
    Array.isArray(job.labels) &&
    job.labels.every((l) => typeof l === "string")
  );
}

/** The body, or undefined once it passes `limit` bytes (the rest is not read). */
function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Drained, not kept: the answer (413) goes out, the rest of the body is dropped.
      req.off("data", collect);
      req.resume();
      resolve(undefined);
    };
    req.on("data", collect);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
