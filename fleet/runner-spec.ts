// What a runner is made of, setting by setting: the part of the config that a running server cannot
// take on (its image, flavor, network, registration and userdata). Each runner's spec id is kept in
// the stack outputs, so the next plan knows which runners an edit has outdated, and says which
// settings changed (fleet/rollout.ts). Values are kept as short digests: the outputs are plain
// text, and a setting may be secret (the repo-policy token).
import * as crypto from "node:crypto";
import type { FleetConfig, PoolConfig } from "../config/fleet-config";

/**
 * What a runner is built of. `lean`: its SSH keys come with its GitHub registration, so it is four
 * resources (its component, registration, server and teardown). `nova-keypair`: a runner deployed
 * before lean runners, with a Nova keypair and an SshHostKey of its own besides (six). Such a
 * runner is declared as it was made until a rollout replaces it: the model is part of the spec.
 */
export type RunnerModel = "nova-keypair" | "lean";

const RUNNER_MODELS: readonly RunnerModel[] = ["nova-keypair", "lean"];

/** Whether a value read back from the stack's outputs names a runner model. */
export function isRunnerModel(value: unknown): value is RunnerModel {
  return RUNNER_MODELS.includes(value as RunnerModel);
}

/** The model of every new runner. */
export const NEW_RUNNER_MODEL: RunnerModel = "lean";

/** Setting name (as the config spells it) → digest of its value. */
export type SpecSettings = Record<string, string>;

export interface RunnerSpec {
  /** Digest of all the settings: equal ids, equal runners. */
  id: string;
  settings: SpecSettings;
}

const digest = (value: unknown) =>
  crypto
    .createHash("sha256")
    .update(JSON.stringify(value ?? null))
    .digest("hex")
    .slice(0, 12);

/**
 * The spec of a pool's new runners. `image` is what identifies the image they boot: the Glance id
 * of an existing image, or the build's triggers (components/runner-image.ts), so a new runner
 * release under `runnerVersion: latest` is a new spec.
 */
export function poolSpec(
  config: FleetConfig,
  pool: PoolConfig,
  image: string,
  repoPolicyToken: string | undefined,
): RunnerSpec {
  const values: Record<string, unknown> = {
    image,
    flavor: pool.flavor,
    network: config.network,
    labels: [...pool.labels].map((l) => l.toLowerCase()).sort(),
    runnerGroup: config.runnerGroup,
    registrationMode: config.registrationMode,
    proxy: config.proxy,
    dockerhubMirror: config.dockerhubMirror,
    sshDebugRelays: config.sshDebugRelays,
    repoPolicyComplianceUrl: config.repoPolicyComplianceUrl,
    repoPolicyComplianceToken: repoPolicyToken,
    authorCheck: config.authorCheck,
    preJobScript: config.preJobScript,
    // Not a setting: a new model rolls the runners of the old one out (idle first, busy drained).
    runnerModel: NEW_RUNNER_MODEL,
  };
  const settings: SpecSettings = {};
  for (const key of Object.keys(values).sort()) settings[key] = digest(values[key]);
  return { id: digest(settings), settings };
}

/** The settings whose values differ between two specs, in the config's words. */
export function changedSettings(from: SpecSettings | undefined, to: SpecSettings): string[] {
  if (!from) return ["settings not recorded"];
  return Object.keys(to).filter((k) => from[k] !== to[k]);
}
