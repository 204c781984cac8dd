/**
 * Python's `repr()` of parsed JSON, as Python's jsonschema prints the instance in its
 * messages (`'1.0' does not match '^2\\.0$'`).
 */

/**
 * The Python `repr` of a JSON value: `'text'`, `True`, `None`, `[1, 2]`, `{'a': 1.5}`.
 *
 * @example
 * pyRepr({ a: [true, null, 'it\'s'] });   // `{'a': [True, None, "it's"]}`
 */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return numberRepr(value);
  if (typeof value === 'string') return stringRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') return `{${Object.entries(value).map(([key, item]) => `${stringRepr(key)}: ${pyRepr(item)}`).join(', ')}}`;
  return String(value);
}

/**
 * JSON numbers as Python shows them. JSON.parse keeps no difference between `1` and `1.0`,
 * so a whole number is shown as an integer; others as Python floats (`1.5`, `1e-05`, `1e+21`).
 */
function numberRepr(value: number): string {
  const text = String(value);
  const exponent = /^(-?[\d.]+)e([+-])(\d+)$/.exec(text);
  if (exponent) return `${exponent[1]}e${exponent[2]}${exponent[3].padStart(2, '0')}`;
  if (Number.isInteger(value)) return text;
  // Python switches to exponent form below 1e-4, JavaScript below 1e-6.
  if (Math.abs(value) < 1e-4) {
    const [mantissa, power] = value.toExponential().split('e');
    return `${mantissa}e${power[0]}${power.slice(1).padStart(2, '0')}`;
  }
  return text;
}

function stringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '\\') out += '\\\\';
    else if (char === quote) out += `\\${quote}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return out + quote;
}
