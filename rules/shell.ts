// Helpers that put arbitrary text into a bash script without it ever being read as code.

/**
 * Quotes a string as one bash word: single quotes, each `'` written as `'\''`. Inside single quotes
 * bash expands nothing (`$()`, backticks, `\`, newlines stay literal), so any value is safe.
 * Throws on a NUL character, which no shell word can hold.
 */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("a shell word cannot contain a NUL character");
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A heredoc redirection with a quoted delimiter (so bash expands nothing in the body) and the text
 * that follows the command: the body and the closing delimiter. The delimiter is `base`, suffixed
 * with a number when a line of the body equals it, so no body can end the heredoc early.
 */
export function heredoc(body: string, base: string): { redirect: string; text: string } {
  if (body.includes("\0")) throw new Error("a heredoc cannot contain a NUL character");
  const lines = new Set(body.split("\n"));
  let delimiter = base;
  for (let n = 2; lines.has(delimiter); n++) delimiter = `${base}_${n}`;
  const ended = body.endsWith("\n") ? body : `${body}\n`;
  return { redirect: `<<'${delimiter}'`, text: `${ended}${delimiter}` };
}
