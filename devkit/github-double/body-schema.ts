// Request-body checks that fail with GitHub's validator wording: `"name" wasn't supplied.`,
// `For 'properties/labels', "x" is not an array.` (422).
import { invalidRequest } from "./http-errors";

type Body = Record<string, unknown>;

/** A value as GitHub's (Ruby) validator prints it: JSON, `nil` for null. */
function show(value: unknown): string {
  return value === null ? "nil" : JSON.stringify(value);
}

function supplied(body: Body, key: string): unknown {
  if (body[key] === undefined) throw invalidRequest(`"${key}" wasn't supplied.`);
  return body[key];
}

/** The body as an object; an absent body counts as `{}`. */
export function objectBody(body: unknown): Body {
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest(`${show(body)} is not an object.`);
  }
  return body as Body;
}

export function requiredString(body: Body, key: string): string {
  const value = supplied(body, key);
  if (typeof value !== "string")
    throw invalidRequest(`For 'properties/${key}', ${show(value)} is not a string.`);
  return value;
}

export function optionalString(body: Body, key: string): string | undefined {
  return body[key] === undefined ? undefined : requiredString(body, key);
}

export function requiredInteger(body: Body, key: string): number {
  const value = supplied(body, key);
  if (!Number.isInteger(value)) {
    throw invalidRequest(`For 'properties/${key}', ${show(value)} is not an integer.`);
  }
  return value as number;
}

/** A string array with between `min` and `max` items. */
export function requiredStringArray(body: Body, key: string, min: number, max: number): string[] {
  const value = supplied(body, key);
  if (!Array.isArray(value))
    throw invalidRequest(`For 'properties/${key}', ${show(value)} is not an array.`);
  const wrong = value.find((item) => typeof item !== "string");
  if (wrong !== undefined) throw invalidRequest(`For 'items', ${show(wrong)} is not a string.`);
  if (value.length < min) {
    throw invalidRequest(`For 'properties/${key}', ${show(value)} has fewer than ${min} items.`);
  }
  if (value.length > max) {
    throw invalidRequest(`For 'properties/${key}', ${value.length} items is more than ${max}.`);
  }
  return value as string[];
}
