import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import type { ImageConfig } from "../config";

/** Arguments of the runner image. */
export interface RunnerImageArgs {
  /** An existing Glance image (name or id), or how to build one. */
  image: ImageConfig;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The image runners boot: an existing Glance image found by name (the newest of that name) or id.
 * Looking it up at every `up` means a new image of the same name rolls out to new runners.
 */
export class RunnerImage extends pulumi.ComponentResource {
  /** Glance id of the image. */
  readonly imageId: pulumi.Output<string>;

  constructor(name: string, args: RunnerImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("runner-fleet:openstack:RunnerImage", name, {}, opts);
    if (args.image.kind !== "existing") {
      throw new Error("`imageBuild` is not available yet: set `image` to an existing Glance image");
    }
    const ref = args.image.ref;
    this.imageId = UUID.test(ref)
      ? pulumi.output(ref)
      : openstack.images.getImageOutput({ name: ref, mostRecent: true }, { parent: this }).id;
    this.registerOutputs({ imageId: this.imageId });
  }
}
