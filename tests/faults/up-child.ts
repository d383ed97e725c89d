// `up` of an existing test stack in a process of its own, so the fault suite can kill the engine
// mid-way without killing itself. Usage: tsx up-child.ts <settings.json>, where the settings name
// the stack's work folder, backend URL and environment (see `ChildSettings`). The program is the
// fleet program itself, run inline in this process; the engine is the `pulumi` child it starts.
import * as fs from "node:fs";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { fleetProgram } from "../../program";

export interface ChildSettings {
  projectName: string;
  workDir: string;
  backendUrl: string;
  envVars: Record<string, string>;
}

async function main(): Promise<void> {
  const settings = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as ChildSettings;
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: "test", projectName: settings.projectName, program: fleetProgram },
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
  process.stdout.write(`\nup-child: ${result.summary.result}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`up-child: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
