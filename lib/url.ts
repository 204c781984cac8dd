/**
 * Small pieces of URL handling that configuration, the command and backends share.
 */

/**
 * `text` with its percent-escapes decoded, or as written where an escape is malformed
 * (`%zz`, a lone `%`): a URL is taken as written, never refused for a bad escape in a part
 * that may be a password.
 *
 * @example
 * safeDecode('p%40ss');   // 'p@ss'
 * safeDecode('100%');     // '100%'
 */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
