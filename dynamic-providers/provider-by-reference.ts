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

/**
 * A provider that delegates to `new implementation()`, loaded from the address in the dynamic
 * provider process. It has exactly the methods the implementation has, because Pulumi behaves
 * differently when one is missing (no `diff`: compare inputs, and so on).
 */
export function providerByReference(
  implementation: new () => pulumi.dynamic.ResourceProvider,
  address: StateAddress,
): pulumi.dynamic.ResourceProvider {
  // These two names are captured into the serialized provider: renaming them changes the state.
  const { module: moduleFile, exportName } = address;
  const provider: Partial<Record<ProviderMethod, (...args: unknown[]) => unknown>> = {};
  for (const method of providerMethods) {
    if (typeof implementation.prototype[method] !== "function") continue;
    provider[method] = (...args: unknown[]) =>
      loadImplementation(moduleFile, exportName)[method](...args);
  }
  return provider as unknown as pulumi.dynamic.ResourceProvider;
}

type Implementation = Record<ProviderMethod, (...args: unknown[]) => unknown>;

/**
 * Runs in the dynamic provider process (serialized with the provider): one instance per
 * implementation and process, so `configure` state is shared as with a by-value provider.
 * `require` there resolves from the process's working directory, the project's.
 */
function loadImplementation(moduleFile: string, exportName: string): Implementation {
  const registry = globalThis as { runnerFleetProviders?: Map<string, Implementation> };
  registry.runnerFleetProviders ??= new Map();
  const key = `${moduleFile}#${exportName}`;
  let instance = registry.runnerFleetProviders.get(key);
  if (!instance) {
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded at run time, by design */
    const path: typeof import("node:path") = require("node:path");
    const tsx: typeof import("tsx/cjs/api") = require("tsx/cjs/api");
    const folder = path.dirname(require.resolve("@runner-fleet/dynamic-providers/package.json"));
    /* eslint-enable @typescript-eslint/no-require-imports */
    const file = path.join(folder, `${moduleFile}.ts`);
    const loaded = tsx.require(file, file) as Record<string, new () => Implementation>;
    if (typeof loaded[exportName] !== "function") {
      throw new Error(`${file} exports no provider class ${exportName}`);
    }
    instance = new loaded[exportName]();
    registry.runnerFleetProviders.set(key, instance);
  }
  return instance;
}
