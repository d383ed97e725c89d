// Typed reads of raw stack config values that collect every problem instead of stopping at the
// first, so one `pulumi preview` shows all of them. Each message names the key, the value received
// and what is allowed.

/** Looks up a raw config value (as `pulumi config get` shows it) by key, without namespace. */
export type RawLookup = (key: string) => string | undefined;

export class ConfigReader {
  readonly problems: string[] = [];

  constructor(private readonly lookup: RawLookup) {}

  /** Records a problem with `key`. */
  fail(key: string, allowed: string, got: unknown): void {
    this.problems.push(`\`${key}\` ${allowed}, got ${JSON.stringify(got)}`);
  }

  has(key: string): boolean {
    const v = this.lookup(key);
    return v !== undefined && v !== "";
  }

  /** A raw value parsed as JSON when it looks like JSON (objects, lists), else the string. */
  raw(key: string): unknown {
    const v = this.lookup(key);
    if (v === undefined || v === "") return undefined;
    if (/^\s*[[{]/.test(v)) {
      try {
        return JSON.parse(v);
      } catch {
        return v;
      }
    }
    return v;
  }

  string(key: string, opts: { pattern?: RegExp; allowed?: string; default?: string } = {}) {
    const v = this.lookup(key);
    if (v === undefined || v === "") return opts.default;
    if (opts.pattern && !opts.pattern.test(v)) {
      this.fail(key, `must be ${opts.allowed ?? `a string matching ${opts.pattern}`}`, v);
    }
    return v;
  }

  requiredString(key: string, opts: { pattern?: RegExp; allowed?: string } = {}): string {
    const v = this.string(key, opts);
    if (v === undefined) {
      this.problems.push(
        `\`${key}\` is required: ${opts.allowed ?? "set it with pulumi config set"}`,
      );
      return "";
    }
    return v;
  }

  integer(key: string, min: number, max: number, fallback: number): number {
    const v = this.lookup(key);
    if (v === undefined || v === "") return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) {
      this.fail(key, `must be an integer from ${min} to ${max}`, v);
      return fallback;
    }
    return n;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.lookup(key);
    if (v === undefined || v === "") return fallback;
    if (v !== "true" && v !== "false") {
      this.fail(key, "must be true or false", v);
      return fallback;
    }
    return v === "true";
  }

  /** A list of strings, given as a JSON list (`--path 'labels[0]'` or a JSON string). */
  stringList(key: string, item: { pattern: RegExp; allowed: string }): string[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.fail(key, "must be a list of strings", v);
      return [];
    }
    for (const x of v) {
      if (typeof x !== "string" || !item.pattern.test(x)) this.fail(`${key}[]`, item.allowed, x);
    }
    return v.filter((x): x is string => typeof x === "string");
  }

  /** A JSON object value, or undefined. */
  object(key: string): Record<string, unknown> | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.fail(key, "must be an object", v);
      return undefined;
    }
    return v as Record<string, unknown>;
  }
}
