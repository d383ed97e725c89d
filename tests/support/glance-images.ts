// Glance images the tests make in the tenant, through the openstack CLI.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tenantOsEnv } from "../../devkit/local-cloud/cloud-env";

/** Uploads `file` as a raw image named `name`, with Glance `properties`; returns its id. */
export function createGlanceImage(
  name: string,
  file: string,
  properties: Record<string, string> = {},
): string {
  const args = ["image", "create", "--disk-format", "raw", "--container-format", "bare"];
  for (const [k, v] of Object.entries(properties)) args.push("--property", `${k}=${v}`);
  return execFileSync("openstack", [...args, "--file", file, "-f", "value", "-c", "id", name], {
    env: { ...process.env, ...tenantOsEnv() },
    encoding: "utf8",
  }).trim();
}

/**
 * A small base image for builds: an ext4 filesystem holding /home/ubuntu, as a cloud image
 * would, made in `work`; returns its id.
 */
export function createBaseImage(work: string, name: string): string {
  const root = path.join(work, "root");
  fs.mkdirSync(path.join(root, "home", "ubuntu"), { recursive: true });
  const raw = path.join(work, "base.raw");
  execFileSync("truncate", ["-s", "16M", raw]);
  execFileSync("mkfs.ext4", ["-q", "-F", "-d", root, raw]);
  return createGlanceImage(name, raw);
}

/** Deletes images by id or name; those already gone are no error. */
export function deleteGlanceImages(refs: string[]): void {
  for (const ref of refs) {
    try {
      execFileSync("openstack", ["image", "delete", ref], {
        env: { ...process.env, ...tenantOsEnv() },
        stdio: "ignore",
      });
    } catch {
      // gone already (or never made)
    }
  }
}
