// A rule is a test with the words that say what it allows, so every layer that checks a value
// (config validation, userdata rendering, provider `check`s) reports it the same way.

export interface Rule {
  /** What is allowed, completing "must be …". */
  readonly allowed: string;
  test(value: unknown): boolean;
}

/** A rule for strings matching `pattern`. */
export function patternRule(pattern: RegExp, allowed: string): Rule {
  return { allowed, test: (v) => typeof v === "string" && pattern.test(v) };
}

/** A rule for integers in a range. */
export interface IntegerRule extends Rule {
  readonly min: number;
  readonly max: number;
}

/** A rule for integers from `min` to `max`. */
export function integerRule(min: number, max: number, allowed?: string): IntegerRule {
  return {
    min,
    max,
    allowed: allowed ?? `an integer from ${min} to ${max}`,
    test: (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
  };
}

/** The same rule, described for one setting (an example, a hint). */
export function describedAs(rule: Rule, allowed: string): Rule {
  return { allowed, test: (v) => rule.test(v) };
}

/** "`field` must be <allowed>, got <value>", or undefined when the rule holds. */
export function ruleProblem(field: string, rule: Rule, value: unknown): string | undefined {
  return rule.test(value)
    ? undefined
    : `\`${field}\` must be ${rule.allowed}, got ${JSON.stringify(value)}`;
}
