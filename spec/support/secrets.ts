/**
 * Finding a password where it must not be: in any text a user, a log or an error report
 * could see. A password is found whole, URL-encoded, or by any of its parts between URL
 * delimiters (a parser that cuts a password at an unencoded '@' or '/' shows a part of it).
 */
import { inspect } from 'node:util';
import type { Connection } from '../../lib';

/** The parts of `password` a message must not show: itself, encoded, and its pieces between delimiters. */
export function secretParts(password: string): string[] {
  const pieces = password.split(/[@/#:%?&=+ ]/).filter((piece) => piece.length >= 4);
  return [...new Set([password, encodeURIComponent(password), ...pieces])];
}

/** The parts of `secret` that `text` shows. */
export function leaksIn(text: string, secret: string): string[] {
  return secretParts(secret).filter((part) => text.includes(part));
}

/** JSON, or why not (a cycle, a BigInt): what a logger serializing the value would get. */
function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch (error) {
    return `(not JSON: ${(error as Error).message})`;
  }
}

/**
 * Every way an error is commonly shown: message, String(), stack, util.inspect (plain and
 * with hidden properties, whole depth), JSON, for the error and every error in its cause
 * chain (and inside AggregateErrors).
 */
export function viewsOfError(error: unknown, label = 'error'): [string, string][] {
  const views: [string, string][] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, where: string) => {
    if (value === null || value === undefined || seen.has(value)) return;
    seen.add(value);
    views.push([`${where}: String()`, String(value)]);
    views.push([`${where}: util.inspect`, inspect(value)]);
    views.push([`${where}: util.inspect showHidden`, inspect(value, { showHidden: true, depth: Infinity })]);
    views.push([`${where}: JSON.stringify`, json(value)]);
    if (value instanceof Error) {
      views.push([`${where}: message`, value.message]);
      views.push([`${where}: stack`, value.stack ?? '']);
      for (const key of Object.getOwnPropertyNames(value)) {
        const property = (value as unknown as Record<string, unknown>)[key];
        if (typeof property === 'string') views.push([`${where}.${key}`, property]);
      }
    }
    if (value && typeof value === 'object') {
      visit((value as { cause?: unknown }).cause, `${where}.cause`);
      const errors = (value as { errors?: unknown }).errors;
      if (Array.isArray(errors)) errors.forEach((inner, i) => visit(inner, `${where}.errors[${i}]`));
    }
  };
  visit(error, label);
  return views;
}

/** Every way a connection is commonly shown: inspect, JSON, String(), its location, its config. */
export function viewsOfConnection(conn: Connection, label = 'connection'): [string, string][] {
  return [
    [`${label}: util.inspect`, inspect(conn)],
    [`${label}: util.inspect showHidden`, inspect(conn, { showHidden: true, depth: Infinity })],
    [`${label}: JSON.stringify`, json(conn)],
    [`${label}: String()`, String(conn)],
    [`${label}: template literal`, `${conn as unknown as string}`],
    [`${label}.location`, conn.location],
    [`${label}.config: util.inspect`, inspect(conn.config)],
    [`${label}.config: util.inspect showHidden`, inspect(conn.config, { showHidden: true, depth: Infinity })],
    [`${label}.config: JSON.stringify`, json(conn.config)],
    [`${label}.config: entries`, json(Object.entries(conn.config))],
    [`${label}.config: spread`, json({ ...conn.config })],
    [`${label}.config.displayUrl`, String(conn.config.displayUrl)],
  ];
}

/** Every way a plain value (a result, a report) is commonly shown. */
export function viewsOfValue(value: unknown, label: string): [string, string][] {
  return [
    [`${label}: util.inspect`, inspect(value, { depth: Infinity })],
    [`${label}: util.inspect showHidden`, inspect(value, { showHidden: true, depth: Infinity })],
    [`${label}: JSON.stringify`, json(value)],
  ];
}

/** The views that show a part of `secret`, as `label: part "..." in: <excerpt>`. */
export function leakingViews(views: readonly [string, string][], secret: string): string[] {
  const found: string[] = [];
  for (const [label, text] of views) {
    const parts = leaksIn(text, secret);
    if (!parts.length) continue;
    const at = text.indexOf(parts[0]);
    const excerpt = text.slice(Math.max(0, at - 60), at + parts[0].length + 60).replace(/\s+/g, ' ');
    found.push(`${label} shows ${JSON.stringify(parts[0])}: ...${excerpt}...`);
  }
  return found;
}
