// The Pulumi program: stack config in, a fleet of ephemeral GitHub Actions runners out.
// The fleet itself lands with issue 4; this entry point already runs on the real engine.
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();

export const quantity = config.getNumber("quantity") ?? 1;
