// A dynamic provider that Pulumi serializes as a reference to its implementation, not as its code.
//
// Pulumi stores a dynamic provider's serialized code (`__provider`) in the inputs and the outputs
// of every resource it manages. By value, our providers weighed 9 to 50 KB each, about 90 KB per
// runner: 29 MiB of checkpoint at 100 runners, which the file backend rewrites at every step, so
// `up` slowed down faster than the fleet grew (bench/). By reference, a provider is a few hundred
// bytes: its methods load the implementation from this folder — linked into node_modules as the
// npm workspace `@runner-fleet/dynamic-providers` — when the dynamic provider process first calls
// them, and tsx's require API compiles the TypeScript there.
//
// The trade-off, as for any package a provider requires: a refresh or delete runs the
// implementation installed now, not the one that created the resource, so implementations keep
// reading every state shape they ever wrote.
import * as pulumi from "@pulumi/pulumi";
import type * as loaderModule from "./call-by-address";
import type { callByAddress } from "./call-by-address";

type ProviderMethod = keyof pulumi.dynamic.ResourceProvider;
const providerMethods: ProviderMethod[] = [
  "configure",
  "check",
  "diff",
  "create",
  "read",
  "update",
  "delete",
];

/**
 * Where the dynamic provider process finds an implementation: `<module>.ts` of this folder and
 * its export `exportName`. Every resource's state records it, so an address never changes once
 * released: `state-addresses.ts` lists them, and a moved implementation leaves a shim behind.
 */
export interface StateAddress {
  module: string;
  exportName: string;
}

/** The input and output where Pulumi keeps a dynamic resource's serialized provider. */
export const SERIALIZED_PROVIDER_KEY = "__provider";

/**
 * The inputs a provider's `diff` compares: all but the serialized provider, whose text changes
 * with this file (or the SDK's serializer) while the implementation it loads is the same. Pulumi
 * passes it to `diff` like any input, so a diff that compared it would update every resource of
 * a stack deployed by earlier code.
 */
export function comparedInputKeys<T extends object>(news: T): (keyof T & string)[] {
  return (Object.keys(news) as (keyof T & string)[]).filter((k) => k !== SERIALIZED_PROVIDER_KEY);
}

/**
 * A provider that delegates to `new implementation()`, loaded from the address in the dynamic
 * provider process. It has exactly the methods the implementation has, because Pulumi behaves
 * differently when one is missing (no `diff`: compare inputs, and so on).
 *
 * Each method is serialized on its own, with what it captures, so they share one small function
 * and the loading lives in call-by-address.ts: a registration's serialized provider is 2.5 KB
 * (3.8 KB when each method carried the loader), held twice in each resource's state.
 */
export function providerByReference(
  implementation: new () => pulumi.dynamic.ResourceProvider,
  address: StateAddress,
): pulumi.dynamic.ResourceProvider {
  // These names are captured into the serialized provider: renaming them changes the state.
  const { module: moduleFile, exportName } = address;
  // Runs in the dynamic provider process. `require` there resolves from the process's working
  // directory, the project's; tsx's require API compiles the TypeScript and loads it in a
  // namespace of its own on each call, so the loaded function is kept.
  const call = (method: string, args: unknown[]): unknown => {
    const registry = globalThis as { runnerFleetCallByAddress?: typeof callByAddress };
    if (!registry.runnerFleetCallByAddress) {
      /* eslint-disable @typescript-eslint/no-require-imports -- loaded at run time, by design */
      const file = require.resolve("@runner-fleet/dynamic-providers/call-by-address.ts");
      const tsx: typeof import("tsx/cjs/api") = require("tsx/cjs/api");
      /* eslint-enable @typescript-eslint/no-require-imports */
      registry.runnerFleetCallByAddress = (
        tsx.require(file, file) as typeof loaderModule
      ).callByAddress;
    }
    return registry.runnerFleetCallByAddress(moduleFile, exportName, method, args);
  };
  const provider: Partial<Record<ProviderMethod, (...args: unknown[]) => unknown>> = {};
  for (const method of providerMethods) {
    if (typeof implementation.prototype[method] !== "function") continue;
    provider[method] = (...args: unknown[]) => call(method, args);
  }
  return provider as unknown as pulumi.dynamic.ResourceProvider;
}
