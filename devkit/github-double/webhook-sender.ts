// The double's webhooks: as GitHub does for a repository or organisation webhook subscribed to
// `workflow_job`, it POSTs one delivery per change of a job's status (queued, in_progress,
// completed) to the configured URL, signed with `X-Hub-Signature-256` (HMAC-SHA256 of the body
// with the webhook secret), named by `X-GitHub-Event` and a unique `X-GitHub-Delivery`. Payloads
// follow GitHub's `workflow_job` event schema (action, workflow_job, repository, sender).
import { createHmac, randomUUID } from "node:crypto";
import type { Job } from "./jobs";
import { jobJson } from "./jobs";
import type { DoubleState } from "./double-state";

export interface WebhookSettings {
  /** Where deliveries go (http://127.0.0.1:<port>/...). */
  url: string;
  secret: string;
}

/** One delivery as the double recorded it, like GitHub's "Recent Deliveries". */
export interface WebhookDelivery {
  id: string;
  event: "workflow_job";
  action: string;
  jobId: number;
  /** The receiver's HTTP status, or null when it could not be reached (`error`). */
  status: number | null;
  error: string | null;
}

export class WebhookSender {
  private settings?: WebhookSettings;
  private readonly sent: WebhookDelivery[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly state: DoubleState) {
    state.dispatcher.onJob((job, action) => this.send(job, action));
  }

  configure(settings: WebhookSettings | null): void {
    this.settings = settings ?? undefined;
  }

  deliveries(): WebhookDelivery[] {
    return this.sent.map((d) => ({ ...d }));
  }

  /** Resolves once every delivery so far has been answered (or failed). */
  settled(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  /** The `workflow_job` payload of a job's change, as GitHub shapes it. */
  payload(job: Job, action: string): Record<string, unknown> {
    const { owner, repo } = job.repo;
    return {
      action,
      workflow_job: jobJson(job, this.state.baseUrl),
      repository: {
        id:
          1_000_000 + [...`${owner}/${repo}`].reduce((n, c) => (n * 31 + c.charCodeAt(0)) % 1e6, 7),
        name: repo,
        full_name: `${owner}/${repo}`,
        private: true,
        owner: { login: owner, type: "Organization" },
        html_url: `${this.state.baseUrl}/${owner}/${repo}`,
      },
      organization: { login: owner },
      sender: { login: "octocat", type: "User" },
    };
  }

  private send(job: Job, action: string): void {
    const settings = this.settings;
    if (!settings) return;
    const body = JSON.stringify(this.payload(job, action));
    const delivery: WebhookDelivery = {
      id: randomUUID(),
      event: "workflow_job",
      action,
      jobId: job.id,
      status: null,
      error: null,
    };
    this.sent.push(delivery);
    const signature = `sha256=${createHmac("sha256", settings.secret).update(body).digest("hex")}`;
    // In order, one at a time, as a test reads them; GitHub itself promises no order.
    this.chain = this.chain.then(() =>
      fetch(settings.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "GitHub-Hookshot/double",
          "x-github-event": "workflow_job",
          "x-github-delivery": delivery.id,
          "x-hub-signature-256": signature,
        },
        body,
      }).then(
        async (res) => {
          delivery.status = res.status;
          await res.arrayBuffer();
        },
        (err: Error) => (delivery.error = err.message),
      ),
    );
  }
}
