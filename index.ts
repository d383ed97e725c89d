// The Pulumi program's entry point for the Pulumi CLI: stack config in, a fleet of ephemeral
// GitHub Actions runners on OpenStack out. The flow lives in program.ts.
import { fleetProgram } from "./program";

export = fleetProgram();
