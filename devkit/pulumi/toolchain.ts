import * as fs from "node:fs";
import * as path from "node:path";

/** The repository root, where node_modules lives. */
export const repoRoot = path.resolve(__dirname, "..", "..");

/**
 * The environment the locally built Pulumi toolchain needs, read from the `env.sh` that
 * `scripts/toolchain.sh` wrote. Fails loudly when the toolchain was not built: real-engine suites
 * must run, never skip.
 */
export function toolchainEnv(): Record<string, string> {
  const dir = process.env.TOOLCHAIN_DIR;
  if (!dir || !fs.existsSync(path.join(dir, "bin", "pulumi"))) {
    throw new Error(
      `TOOLCHAIN_DIR must name a built Pulumi toolchain (run \`npm run toolchain\`), got ${JSON.stringify(dir)}`,
    );
  }
  return {
    PATH: `${path.join(dir, "bin")}:${path.join(repoRoot, "node_modules", "@pulumi", "pulumi")}:${process.env.PATH}`,
    PULUMI_HOME: path.join(dir, "pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}

/** Names of toolchain parts the Go proxy did not serve, with the proxy's answer. */
export function blockedToolchainParts(): Record<string, string> {
  const dir = path.join(process.env.TOOLCHAIN_DIR ?? "", "status");
  if (!fs.existsSync(dir)) return {};
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".blocked"))
      .map((f) => [f.replace(/\.blocked$/, ""), fs.readFileSync(path.join(dir, f), "utf8").trim()]),
  );
}
