import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './bicepText';

/** The text of a `## heading` section of a Markdown file, up to the next `## ` heading. */
export function markdownSection(file: string, heading: string): string {
  const text = readFileSync(join(REPO, file), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`${file} has no section "## ${heading}"`);
  const next = text.indexOf('\n## ', start + 4);
  return text.slice(start, next < 0 ? text.length : next);
}

/** The back-quoted names in the first column of a section's tables. */
export function firstColumnNames(section: string, name: RegExp): Set<string> {
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('|') || /^\|\s*-/.test(line)) continue;
    const cell = line.split('|')[1] ?? '';
    for (const m of cell.matchAll(/`([^`]+)`/g)) {
      const text = String(m[1]);
      if (new RegExp(`^(?:${name.source})$`).test(text)) names.add(text);
    }
  }
  return names;
}
