// Every GitHub REST endpoint the double serves.
import { appRoutes } from "./app-routes";
import { jobRoutes } from "./job-routes";
import type { RestRoute } from "./rest-route";
import { runnerGroupRoutes } from "./runner-group-routes";
import { runnerRoutes } from "./runner-routes";

export const restRoutes: RestRoute[] = [
  ...appRoutes,
  ...runnerRoutes,
  ...runnerGroupRoutes,
  ...jobRoutes,
];
