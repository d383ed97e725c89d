// A test stack running the fleet program against the local cloud's tenant (or `osEnv`), with
// GitHub writes unpaced: the double has no secondary rate limit unless a test sets one.
import { fleetProgram } from "../../program";
import { tenantOsEnv } from "../../devkit/local-cloud/cloud-env";
import { createTestStack, TestStack } from "../../devkit/pulumi/test-stack";

export function createFleetStack(
  projectName: string,
  osEnv: Record<string, string> = tenantOsEnv(),
): Promise<TestStack> {
  return createTestStack(projectName, fleetProgram, {
    ...osEnv,
    RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0",
  });
}
