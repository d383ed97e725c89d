// Runs in the dynamic provider process: what every serialized provider (provider-by-reference.ts)
// calls, so that the code serialized into each resource's state is a few lines, not this file.
// Serialized providers load this file by its path, so it never moves (see state-addresses.ts).
//
// One instance per implementation and process, so `configure` state is shared as with a by-value
// provider. The registry lives on globalThis under the name the loaders of earlier state use too,
// so resources whose state holds an older loader share the same instance (and the same listing
// cache in a refresh) with those holding this one.
import * as path from "node:path";
import * as tsx from "tsx/cjs/api";

type Implementation = Record<string, (...args: unknown[]) => unknown>;

function implementationAt(moduleFile: string, exportName: string): Implementation {
  const registry = globalThis as { runnerFleetProviders?: Map<string, Implementation> };
  registry.runnerFleetProviders ??= new Map();
  const key = `${moduleFile}#${exportName}`;
  let instance = registry.runnerFleetProviders.get(key);
  if (!instance) {
    const file = path.join(__dirname, `${moduleFile}.ts`);
    const loaded = tsx.require(file, file) as Record<string, new () => Implementation>;
    if (typeof loaded[exportName] !== "function") {
      throw new Error(`${file} exports no provider class ${exportName}`);
    }
    instance = new loaded[exportName]();
    registry.runnerFleetProviders.set(key, instance);
  }
  return instance;
}

/** Calls `method` of the implementation at `<moduleFile>.ts`, export `exportName`. */
export function callByAddress(
  moduleFile: string,
  exportName: string,
  method: string,
  args: unknown[],
): unknown {
  return implementationAt(moduleFile, exportName)[method](...args);
}
