import * as fs from "node:fs";
import * as path from "node:path";
import * as crypto from "node:crypto";
import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import type { ImageConfig } from "../config/fleet-config";
import { uuid } from "../rules/formats";

/** Arguments of the runner image. */
export interface RunnerImageArgs {
  /** An existing Glance image (name or id), or how to build one. */
  image: ImageConfig;
  /** For a build: where the runner downloads list is (GitHub API URL and owner path). */
  github?: { apiUrl: string; path: string; token?: pulumi.Input<string | undefined> };
  /**
   * For a build: the runner version `latest` stands for now (from GitHub's downloads list), so a
   * new runner release changes the build's triggers and rolls out a new image.
   */
  resolvedRunnerVersion?: string;
  /** For an existing image named in the config: its Glance id, looked up already. */
  existingImageId?: string;
}

/** What makes a build: a change of any of these builds a new image (and rolls the fleet). */
export function imageBuildTriggers(
  image: Extract<ImageConfig, { kind: "build" }>,
  version: string,
): string[] {
  return [
    image.baseImage,
    version,
    image.architecture,
    image.name,
    crypto.createHash("sha256").update(buildScript()).digest("hex"),
  ];
}

function buildScript(): string {
  return fs.readFileSync(BUILD_SCRIPT, "utf8");
}

const BUILD_SCRIPT = path.join(__dirname, "..", "image-build", "build-runner-image.sh");

/**
 * The image runners boot. Either an existing Glance image, found by name (the newest of that name)
 * or id, or one built by `image-build/build-runner-image.sh` through @pulumi/command: the runner
 * of the chosen version baked into a copy of a base image, uploaded with `architecture` set.
 *
 * A change of base image, runner version, architecture, name or build script replaces the build;
 * Pulumi creates the replacement before deleting the old image, so the fleet is never imageless,
 * and a failed build leaves the old image (and the fleet) as it was.
 */
export class RunnerImage extends pulumi.ComponentResource {
  /** Glance id of the image. */
  readonly imageId: pulumi.Output<string>;

  constructor(name: string, args: RunnerImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("runner-fleet:openstack:RunnerImage", name, {}, opts);
    const image = args.image;
    if (image.kind === "existing") {
      this.imageId = args.existingImageId
        ? pulumi.output(args.existingImageId)
        : uuid.test(image.ref)
          ? pulumi.output(image.ref)
          : openstack.images.getImageOutput({ name: image.ref, mostRecent: true }, { parent: this })
              .id;
    } else {
      if (!args.github) throw new Error("RunnerImage: a build needs the GitHub downloads list");
      const script = buildScript();
      const version = args.resolvedRunnerVersion ?? image.runnerVersion;
      const build = new command.local.Command(
        `${name}-build`,
        {
          // The script travels as stdin, so the state holds no path of this machine and a change
          // of the script is a change of the build.
          create: "bash -s",
          stdin: script,
          delete: 'openstack image delete "$(printf %s "$PULUMI_COMMAND_STDOUT" | tail -n 1)"',
          environment: {
            BASE_IMAGE: image.baseImage,
            IMAGE_NAME: image.name,
            ARCHITECTURE: image.architecture,
            RUNNER_VERSION: version,
            GITHUB_API_URL: args.github.apiUrl,
            GITHUB_PATH: args.github.path,
            ...(args.github.token
              ? { GITHUB_TOKEN: pulumi.output(args.github.token).apply((t) => t ?? "") }
              : {}),
          },
          triggers: imageBuildTriggers(image, version),
        },
        { parent: this },
      );
      // The id is not secret, though the build's environment holds the GitHub token.
      this.imageId = pulumi.unsecret(
        build.stdout.apply((out) => out.trim().split("\n").pop() ?? ""),
      );
    }
    this.registerOutputs({ imageId: this.imageId });
  }
}
