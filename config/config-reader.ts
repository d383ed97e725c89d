// Typed reads of raw stack config values that collect every problem instead of stopping at the
// first, so one `pulumi preview` shows all of them. Each message names the key, the value received
// and what is allowed.
import type { IntegerRule, Rule } from "../rules/rule";

/** Looks up a raw config value (as `pulumi config get` shows it) by key, without namespace. */
export type RawLookup = (key: string) => string | undefined;

export class ConfigReader {
  readonly problems: string[] = [];

  constructor(private readonly lookup: RawLookup) {}

  /** Records a problem with `key`. */
  fail(key: string, allowed: string, got: unknown): void {
    this.problems.push(`\`${key}\` ${allowed}, got ${JSON.stringify(got)}`);
  }

  /** Records a problem with `key` unless `rule` holds for `value`; says whether it holds. */
  check(key: string, rule: Rule, value: unknown): boolean {
    if (rule.test(value)) return true;
    this.fail(key, `must be ${rule.allowed}`, value);
    return false;
  }

  has(key: string): boolean {
    const v = this.lookup(key);
    return v !== undefined && v !== "";
  }

  /** The value as written, an empty string included (a mistake for a number, not "unset"). */
  text(key: string): string | undefined {
    return this.lookup(key);
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

  string(key: string, opts: { rule?: Rule; default?: string } = {}) {
    const v = this.lookup(key);
    if (v === undefined || v === "") return opts.default;
    if (opts.rule && !opts.rule.test(v)) this.fail(key, `must be ${opts.rule.allowed}`, v);
    return v;
  }

  /** A string that must be set; `what` says what it is, in the message when it is missing. */
  requiredString(key: string, what: string, rule?: Rule): string {
    const v = this.string(key, { rule });
    if (v === undefined) {
      this.problems.push(`\`${key}\` is required: ${what}`);
      return "";
    }
    return v;
  }

  /** An integer; unset gives `fallback`, but an empty string is a mistake, not "unset". */
  integer(key: string, range: IntegerRule, fallback: number): number {
    const v = this.lookup(key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !range.test(n)) {
      this.fail(key, `must be ${range.allowed}`, v);
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
  stringList(key: string, item: Rule): string[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.fail(key, "must be a list of strings", v);
      return [];
    }
    for (const x of v) {
      if (!item.test(x)) this.fail(`${key}[]`, `must be ${item.allowed}`, x);
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
