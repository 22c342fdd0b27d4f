import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Reads the deployment template's Bicep as text. No Bicep compiler can be installed where the
 * tests run, so the agreement tests read what the template says from its source: its resource
 * declarations, their blocks, the comments before them and simple property values. The template
 * is kept plain (docs/deploy.md, "What was not run here") so that this is enough.
 */

export interface BicepFile {
  /** Path from the repository root, with forward slashes. */
  path: string;
  text: string;
}

export interface BicepResource {
  file: string;
  /** The symbolic name: `resource <symbol> '…'`. */
  symbol: string;
  /** `Microsoft.Storage/storageAccounts`, without the API version. */
  type: string;
  apiVersion: string;
  existing: boolean;
  /** The text between the declaration's outer braces. */
  body: string;
  /** `if (…)`'s condition when the resource is deployed only on a condition. */
  condition?: string;
  /** The `//` comment lines just above the declaration (decorators in between are skipped). */
  comments: string[];
  /** 1-based line of the declaration. */
  line: number;
}

export const REPO = join(__dirname, '..', '..');

export function readBicepFiles(dir = join(REPO, 'infra')): BicepFile[] {
  const files: BicepFile[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.bicep'))
        files.push({
          path: relative(REPO, path).split('\\').join('/'),
          text: readFileSync(path, 'utf8'),
        });
    }
  };
  walk(dir);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The text with comments and string contents blanked (same length, same line breaks), so braces
 * and keywords can be found by position without being fooled by a `{` in a string or comment.
 */
export function codeOnly(text: string): string {
  const out = text.split('');
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k += 1) if (out[k] !== '\n') out[k] = ' ';
  };
  while (i < text.length) {
    if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      const stop = end < 0 ? text.length : end + 3;
      blank(i + 3, stop - 3);
      i = stop;
    } else if (text[i] === "'") {
      let k = i + 1;
      while (k < text.length && text[k] !== "'") k += text[k] === '\\' ? 2 : 1;
      blank(i + 1, k);
      i = k + 1;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
    } else i += 1;
  }
  return out.join('');
}

/** The index of the brace closing the one opened at `open`, in code-only text. */
export function closingBrace(code: string, open: number, openChar = '{', closeChar = '}'): number {
  let depth = 0;
  for (let i = open; i < code.length; i += 1) {
    if (code[i] === openChar) depth += 1;
    else if (code[i] === closeChar) {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unbalanced ${openChar} at offset ${open}`);
}

const DECLARATION = /^[ \t]*resource\s+(\w+)\s+'([^'@]+)@([^']+)'\s*(existing\s*)?=/gm;

export function resourcesOf(file: BicepFile): BicepResource[] {
  const code = codeOnly(file.text);
  const lines = file.text.split('\n');
  const found: BicepResource[] = [];
  for (const match of file.text.matchAll(DECLARATION)) {
    const at = match.index ?? 0;
    // A declaration inside a comment or a string is not one.
    if (code.slice(at, at + match[0].length).trim() === '') continue;
    const open = code.indexOf('{', at + match[0].length);
    const close = closingBrace(code, open);
    const line = file.text.slice(0, at).split('\n').length;
    const condition = /^\s*if\s*\((.*)\)\s*$/s.exec(file.text.slice(at + match[0].length, open));
    found.push({
      file: file.path,
      symbol: String(match[1]),
      type: String(match[2]),
      apiVersion: String(match[3]),
      existing: Boolean(match[4]),
      body: file.text.slice(open + 1, close),
      ...(condition ? { condition: String(condition[1]) } : {}),
      comments: commentsAbove(lines, line - 1),
      line,
    });
  }
  return found;
}

function commentsAbove(lines: string[], index: number): string[] {
  const comments: string[] = [];
  for (let i = index - 1; i >= 0; i -= 1) {
    const text = (lines[i] ?? '').trim();
    if (text.startsWith('//')) comments.unshift(text.replace(/^\/\/\s?/, ''));
    else if (text.startsWith('@'))
      continue; // a decorator such as @description(…)
    else break;
  }
  return comments;
}

/**
 * The top-level properties of a block (`name: value` at its first level), each value as written.
 * A value that opens a brace or bracket runs to its closing one.
 */
export function propertiesOf(body: string): Map<string, string> {
  const code = codeOnly(body);
  const properties = new Map<string, string>();
  let depth = 0;
  let lineStart = 0;
  for (let i = 0; i <= code.length; i += 1) {
    const c = code[i];
    if (i === code.length || c === '\n') {
      lineStart = i + 1;
      continue;
    }
    if (c === '{' || c === '[' || c === '(') depth += 1;
    else if (c === '}' || c === ']' || c === ')') depth -= 1;
    if (depth !== 0 || i !== firstNonBlank(code, lineStart)) continue;
    const key = /^(?:'([^']*)'|(\w+))\s*:/.exec(body.slice(i));
    // `'NAME': …` is blanked in code-only text; read the key from the real text.
    if (!key) continue;
    const valueStart = i + key[0].length;
    const valueEnd = endOfValue(code, valueStart);
    properties.set(String(key[1] ?? key[2]), body.slice(valueStart, valueEnd).trim());
    i = valueEnd - 1;
  }
  return properties;
}

function firstNonBlank(code: string, from: number): number {
  let i = from;
  while (i < code.length && (code[i] === ' ' || code[i] === '\t')) i += 1;
  return i;
}

function endOfValue(code: string, from: number): number {
  let depth = 0;
  for (let i = from; i < code.length; i += 1) {
    const c = code[i];
    if (c === '{' || c === '[' || c === '(') depth += 1;
    else if (c === '}' || c === ']' || c === ')') {
      if (depth === 0) return i;
      depth -= 1;
    } else if (c === '\n' && depth === 0) return i;
  }
  return code.length;
}

/** A nested property by path (`properties.routing.endpoints`), as written, or undefined. */
export function propertyAt(body: string, path: string): string | undefined {
  let value: string | undefined = `{${body}}`;
  for (const key of path.split('.')) {
    if (value === undefined) return undefined;
    const inner = unwrap(value);
    if (inner === undefined) return undefined;
    value = propertiesOf(inner).get(key);
  }
  return value;
}

/** The inside of `{…}` (also after `if (…)` or a `[for … : {…}]` loop), or undefined. */
export function unwrap(value: string): string | undefined {
  const code = codeOnly(value);
  const open = code.indexOf('{');
  if (open < 0) return undefined;
  return value.slice(open + 1, closingBrace(code, open));
}

/** The elements of an array literal `[ … ]` written one a line, each as written. */
export function arrayItems(value: string): string[] {
  const code = codeOnly(value);
  const open = code.indexOf('[');
  if (open < 0) return [];
  const close = closingBrace(code, open, '[', ']');
  const items: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open + 1; i <= close; i += 1) {
    const c = code[i];
    if (c === '{' || c === '[' || c === '(') depth += 1;
    else if ((c === '}' || c === ']' || c === ')') && i !== close) depth -= 1;
    if ((depth === 0 && (c === '\n' || c === ',')) || i === close) {
      const item = value.slice(start, i).trim();
      if (item !== '') items.push(item);
      start = i + 1;
    }
  }
  return items;
}

/** `param <name> <type> = <default>`: each parameter's default value as written. */
export function parameterDefaults(file: BicepFile): Map<string, string | undefined> {
  const params = new Map<string, string | undefined>();
  for (const m of file.text.matchAll(/^param\s+(\w+)\s+\w+(?:\[\])?\s*(?:=\s*(.+))?$/gm)) {
    params.set(String(m[1]), m[2]?.trim());
  }
  return params;
}

/** `var <name> = <value>`: each variable's value as written (multi-line values whole). */
export function variables(file: BicepFile): Map<string, string> {
  const code = codeOnly(file.text);
  const vars = new Map<string, string>();
  for (const m of file.text.matchAll(/^var\s+(\w+)\s*=\s*/gm)) {
    const start = (m.index ?? 0) + m[0].length;
    if (code.slice(m.index ?? 0, start).trim() === '') continue;
    vars.set(String(m[1]), file.text.slice(start, endOfValue(code, start)).trim());
  }
  return vars;
}

/** The value of a Bicep string literal such as `'abc'` (no interpolation), or undefined. */
export function stringLiteral(value: string): string | undefined {
  const m = /^'((?:[^'\\$]|\\.|\$(?!\{))*)'$/.exec(value.trim());
  return m ? String(m[1]).replace(/\\(.)/g, '$1') : undefined;
}

export interface BicepModule {
  file: string;
  symbol: string;
  /** The module's file, from the repository root. */
  target: string;
  body: string;
  condition?: string;
}

const MODULE = /^[ \t]*module\s+(\w+)\s+'([^']+)'\s*=/gm;

export function modulesOf(file: BicepFile): BicepModule[] {
  const code = codeOnly(file.text);
  const found: BicepModule[] = [];
  for (const match of file.text.matchAll(MODULE)) {
    const at = match.index ?? 0;
    if (code.slice(at, at + match[0].length).trim() === '') continue;
    const open = code.indexOf('{', at + match[0].length);
    const dir = file.path.split('/').slice(0, -1).join('/');
    const condition = /^\s*if\s*\((.*)\)\s*$/s.exec(file.text.slice(at + match[0].length, open));
    found.push({
      file: file.path,
      symbol: String(match[1]),
      target: `${dir}/${String(match[2])}`,
      body: file.text.slice(open + 1, closingBrace(code, open)),
      ...(condition ? { condition: String(condition[1]) } : {}),
    });
  }
  return found;
}

/** `output <name> <type> = <value>`: each output's value as written. */
export function outputs(file: BicepFile): Map<string, string> {
  const code = codeOnly(file.text);
  const found = new Map<string, string>();
  for (const m of file.text.matchAll(/^output\s+(\w+)\s+\w+\s*=\s*/gm)) {
    const start = (m.index ?? 0) + m[0].length;
    if (code.slice(m.index ?? 0, start).trim() === '') continue;
    found.set(String(m[1]), file.text.slice(start, endOfValue(code, start)).trim());
  }
  return found;
}
