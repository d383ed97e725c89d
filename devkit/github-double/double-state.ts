// Everything the double knows, shared by its REST API, runner-agent API and control API.
import { Credentials } from "./credentials";
import { Dispatcher } from "./dispatcher";
import { Installations } from "./installations";
import { JobStore } from "./jobs";
import { PrimaryRateLimit } from "./rate-limit";
import { RequestCounter } from "./request-counts";
import { RunnerContact } from "./runner-contact";
import { RunnerReleases } from "./runner-downloads";
import { RunnerGroups } from "./runner-groups";
import { RunnerTokens } from "./runner-tokens";
import { RunnerRegistry } from "./runners";
import { TrafficFaults } from "./traffic-faults";
import { WebhookSender } from "./webhook-sender";
import type { AppCredential, Clock, TokenGrant } from "./types";

export interface DoubleConfig {
  baseUrl: string;
  clock: Clock;
  tokens: TokenGrant[];
  apps: AppCredential[];
  runnerTarball: Buffer;
}

export class DoubleState {
  readonly baseUrl: string;
  readonly clock: Clock;
  readonly runnerTarball: Buffer;
  readonly releases = new RunnerReleases();
  readonly groups = new RunnerGroups();
  readonly runners = new RunnerRegistry();
  readonly jobs = new JobStore();
  readonly counts = new RequestCounter();
  readonly dispatcher: Dispatcher;
  readonly contact: RunnerContact;
  readonly installations: Installations;
  readonly credentials: Credentials;
  readonly runnerTokens: RunnerTokens;
  readonly rateLimit: PrimaryRateLimit;
  readonly faults: TrafficFaults;
  readonly webhooks: WebhookSender;

  constructor(config: DoubleConfig) {
    this.baseUrl = config.baseUrl;
    this.clock = config.clock;
    this.runnerTarball = config.runnerTarball;
    this.dispatcher = new Dispatcher(this.runners, this.groups, this.jobs, config.clock);
    this.contact = new RunnerContact((runner) => this.dispatcher.loseContact(runner));
    this.installations = new Installations(config.apps, config.clock);
    this.credentials = new Credentials(
      config.tokens,
      this.installations,
      config.apps,
      config.clock,
    );
    this.runnerTokens = new RunnerTokens(config.clock);
    this.rateLimit = new PrimaryRateLimit(config.clock);
    this.faults = new TrafficFaults(config.clock);
    this.webhooks = new WebhookSender(this);
  }
}
