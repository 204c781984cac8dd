/**
 * What a benchmark reports: sections of rows (one table each in RESULTS.md), and the targets
 * they are checked against, with whether each holds.
 */

/** One row of a table: column name -> value. */
export type Row = Record<string, string | number>;

/** A target: a measured ratio and the bound it must stay within. */
export interface Target {
  name: string;
  value: number;
  /** 'max': value must be at most bound; 'min': at least. */
  kind: 'max' | 'min';
  bound: number;
  unit?: string;
}

export interface Section {
  id: string;
  title: string;
  /** How it was measured, in a sentence or two. */
  method: string;
  columns: string[];
  rows: Row[];
  targets: Target[];
  notes: string[];
}

export const holds = (t: Target): boolean => (t.kind === 'max' ? t.value <= t.bound : t.value >= t.bound);

const cell = (value: string | number | undefined) => (value === undefined ? '' : typeof value === 'number' ? String(value) : value);

/** The sections as Markdown. */
export function markdown(sections: readonly Section[], context: Record<string, string>): string {
  const lines = ['# chainstore benchmarks', '', 'Written by `npm run bench`; do not edit by hand.', ''];
  for (const [key, value] of Object.entries(context)) lines.push(`- ${key}: ${value}`);
  const targets = sections.flatMap((s) => s.targets);
  if (targets.length) {
    lines.push('', '## Targets', '', '| target | measured | bound | holds |', '|---|---|---|---|');
    for (const t of targets) {
      lines.push(`| ${t.name} | ${t.value}${t.unit ?? ''} | ${t.kind === 'max' ? '≤' : '≥'} ${t.bound}${t.unit ?? ''} | ${holds(t) ? 'yes' : '**no**'} |`);
    }
  }
  for (const s of sections) {
    lines.push('', `## ${s.title}`, '', s.method, '');
    lines.push(`| ${s.columns.join(' | ')} |`, `|${s.columns.map(() => '---').join('|')}|`);
    for (const row of s.rows) lines.push(`| ${s.columns.map((c) => cell(row[c])).join(' | ')} |`);
    if (s.notes.length) lines.push('', ...s.notes.map((n) => `- ${n}`));
  }
  return `${lines.join('\n')}\n`;
}
