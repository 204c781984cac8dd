/**
 * Masking secrets in text that is about to be shown: a log line, a command's output. One
 * place for it, because a password reaches such text by many roads (an error message, a
 * driver's message quoting a URL, a location) and every road must be closed the same way.
 */
import { safeDecode } from './url';

/**
 * `scheme:`, up to two slashes, `user:` and then everything up to the last `@` of the URL:
 * the password, even one with an unencoded `#`, `/` or `@` (which a URL parser would cut
 * short), and in a URL with a slash too few (`postgres:/user:pw@host`, `postgres:user:pw@host`).
 */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/{0,2}[^\s'"`:/@]*:)[^\s'"`]*@/gi;

/** The characters at which a URL parser may cut a password, showing the rest as a host name. */
const URL_DELIMITERS = /[@/#:%?&=+ ]/;

/** Pieces of a password shorter than this are not masked apart: they would mask common words. */
const SHORTEST_PIECE = 4;

/**
 * Masks every secret in `text` (longest first, so that a secret holding another is masked
 * whole) and the password of every URL in it.
 *
 * @example
 * maskSecrets('auth failed for p@ss at postgres://app:p@ss@db/x', ['p@ss']);
 * // 'auth failed for *** at postgres://app:***@db/x'
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let safe = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret) safe = safe.split(secret).join('***');
  return safe.replace(URL_PASSWORD, '$1***@');
}

/**
 * The forms in which `password` may show up in a message: as given, URL-encoded, and each of
 * its pieces between URL delimiters (a driver that parses a URL with an unencoded `@` in its
 * password reports the rest of it as a host: `getaddrinfo ENOTFOUND Vw9z`).
 *
 * @example
 * secretForms('Kq7x@Vw9z');   // ['Kq7x@Vw9z', 'Kq7x%40Vw9z', 'Kq7x', 'Vw9z']
 * secretForms(undefined);     // []
 */
export function secretForms(password: string | undefined): string[] {
  if (!password) return [];
  const pieces = password.split(URL_DELIMITERS).filter((piece) => piece.length >= SHORTEST_PIECE);
  return [...new Set([password, encodeURIComponent(password), ...pieces])];
}

/**
 * What the password of `url` may be, however the URL is spelled: with whitespace around it,
 * after `--url=`, with one slash or none after the scheme. With an unencoded `@` in it, where
 * the password ends is ambiguous, so every candidate (up to each `@`) counts, raw and decoded.
 *
 * @example
 * passwordsOf('postgres://app:p%40ss@db/x');   // ['p%40ss', 'p@ss']
 * passwordsOf('--url=postgres://app:a@b@db');   // ['a', 'a', 'a@b', 'a@b']
 */
export function passwordsOf(url: string | undefined): string[] {
  const text = url?.trim().replace(/^--[a-z-]+=/, '');
  const userInfo = text && /^[a-z][a-z0-9+.-]*:\/{0,2}[^:/@\s]*:(.*)@/is.exec(text)?.[1];
  if (!userInfo) return [];
  const candidates: string[] = [];
  for (let at = userInfo.indexOf('@'); at !== -1; at = userInfo.indexOf('@', at + 1)) candidates.push(userInfo.slice(0, at));
  candidates.push(userInfo);
  return candidates.flatMap((raw) => [raw, safeDecode(raw)]);
}
