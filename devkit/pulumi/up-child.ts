// `up` of a test stack in a process of its own, with the program a module exports. Two uses:
// - the fault suite kills the engine mid-way without killing itself;
// - the upgrade kit (previous-code.ts) copies this file into an older checkout and runs it with
//   that checkout's tsx, from its folder, so that everything it loads (@pulumi/pulumi, the
//   program, the dynamic providers the program serializes) comes from the old tree.
// For the second, it imports nothing but Node's modules and @pulumi/pulumi: keep it so, and keep
// it working with the oldest checkout a test deploys.
//
// Usage: tsx up-child.ts <settings.json>; see `UpChildSettings`. It prints the engine's output
// and writes the up's summary and its non-secret outputs to `resultFile`.
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { LocalWorkspace, PulumiFn } from "@pulumi/pulumi/automation";

/** What the caller hands the child, as a JSON file (it holds the passphrase: mode 0600). */
export interface UpChildSettings {
  projectName: string;
  stackName: string;
  workDir: string;
  backendUrl: string;
  /** The engine's environment: toolchain, passphrase, credentials. */
  envVars: Record<string, string>;
  /** The program module, absolute. */
  programModule: string;
  /** Its export that is the Pulumi program. */
  programExport: string;
  /** Where to write an `UpChildResult`. */
  resultFile: string;
}

/** What the child reports of the up. */
export interface UpChildResult {
  summary: { result: string; resourceChanges?: Record<string, number> };
  /** The stack outputs that are not secret, by name. */
  outputs: Record<string, unknown>;
}

async function main(): Promise<void> {
  const settings = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as UpChildSettings;
  const loaded = (await import(pathToFileURL(path.resolve(settings.programModule)).href)) as Record<
    string,
    unknown
  >;
  const program = loaded[settings.programExport];
  if (typeof program !== "function") {
    throw new Error(`${settings.programModule} exports no function ${settings.programExport}`);
  }
  const stack = await LocalWorkspace.createOrSelectStack(
    {
      stackName: settings.stackName,
      projectName: settings.projectName,
      program: program as PulumiFn,
    },
    {
      workDir: settings.workDir,
      projectSettings: {
        name: settings.projectName,
        runtime: "nodejs",
        backend: { url: settings.backendUrl },
      },
      envVars: settings.envVars,
    },
  );
  const result = await stack.up({
    onOutput: (s) => process.stdout.write(s),
    onError: (s) => process.stderr.write(s),
  });
  const report: UpChildResult = {
    summary: {
      result: result.summary.result,
      resourceChanges: result.summary.resourceChanges,
    },
    outputs: Object.fromEntries(
      Object.entries(result.outputs)
        .filter(([, output]) => !output.secret)
        .map(([name, output]) => [name, output.value]),
    ),
  };
  fs.writeFileSync(settings.resultFile, JSON.stringify(report), { mode: 0o600 });
  process.stdout.write(`\nup-child: ${result.summary.result}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`up-child: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
