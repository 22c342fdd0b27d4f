import {
  BicepFile,
  codeOnly,
  modulesOf,
  outputs,
  parameterDefaults,
  propertiesOf,
  resourcesOf,
  stringLiteral,
  variables,
} from './bicepText';

/**
 * What an expression of the template comes to once deployed, as far as its text tells: strings
 * and their interpolations, parameters (a module's from the call that passes them, the main
 * file's from its defaults or the values given), variables, module outputs, resource names and
 * simple conditionals. What only Azure knows at deployment (an identity's client id, a key's
 * URI) comes from `azureValues`: an example of the value Azure gives, matched on the
 * expression's text. An expression it cannot read throws, naming it, so the table grows with
 * the template rather than a setting going unchecked.
 */
/** An example of what Azure gives for an expression, matched on its text. */
export type AzureValue = [
  RegExp,
  (match: RegExpExecArray, valueOf: (expression: string) => string) => string,
];

export class TemplateValues {
  constructor(
    private readonly files: BicepFile[],
    private readonly mainPath: string,
    private readonly given: Readonly<Record<string, string>>,
    private readonly azureValues: readonly AzureValue[],
  ) {}

  valueOf(filePath: string, expression: string, depth = 0): string {
    if (depth > 40) throw new Error(`${filePath}: ${expression} refers to itself`);
    const expr = stripParens(expression.trim());
    const file = this.file(filePath);
    const next = (f: string, e: string) => this.valueOf(f, e, depth + 1);

    const conditional = splitConditional(expr);
    if (conditional) {
      const [condition, whenTrue, whenFalse] = conditional;
      return this.isTrue(filePath, condition, depth)
        ? next(filePath, whenTrue)
        : next(filePath, whenFalse);
    }
    if (expr.startsWith("'")) return this.interpolate(filePath, expr, depth);
    for (const [pattern, value] of this.azureValues) {
      const match = pattern.exec(expr);
      if (match) return value(match, (e) => next(filePath, e));
    }
    let m = /^(toLower|toUpper|trim)\((.*)\)$/s.exec(expr);
    if (m) {
      const inner = next(filePath, String(m[2]));
      return m[1] === 'toLower'
        ? inner.toLowerCase()
        : m[1] === 'toUpper'
          ? inner.toUpperCase()
          : inner.trim();
    }
    m = /^(\w+)\.outputs\.(\w+)$/.exec(expr);
    if (m) {
      const module = modulesOf(file).find((mod) => mod.symbol === m?.[1]);
      if (!module) throw new Error(`${filePath}: no module ${String(m[1])}`);
      const value = outputs(this.file(module.target)).get(String(m[2]));
      if (value === undefined) throw new Error(`${module.target}: no output ${String(m[2])}`);
      return next(module.target, value);
    }
    m = /^(\w+)\.name$/.exec(expr);
    if (m) {
      const resource = resourcesOf(file).find((r) => r.symbol === m?.[1]);
      const name = resource && propertiesOf(resource.body).get('name');
      if (name !== undefined) return next(filePath, name);
    }
    m = /^(\w+)\.(\w+)$/.exec(expr);
    const object = m && variables(file).get(String(m[1]));
    if (m && object?.startsWith('{')) {
      const member = propertiesOf(unbrace(object)).get(String(m[2]));
      if (member === undefined)
        throw new Error(`${filePath}: ${String(m[1])} has no ${String(m[2])}`);
      return next(filePath, member);
    }
    if (/^\w+$/.test(expr)) {
      const vars = variables(file);
      const variable = vars.get(expr);
      if (variable !== undefined) return next(filePath, variable);
      const params = parameterDefaults(file);
      if (params.has(expr)) return this.parameter(filePath, expr, params.get(expr), depth);
    }
    throw new Error(
      `${filePath}: cannot tell what ${expr} comes to; add it to the table of Azure's values`,
    );
  }

  private parameter(filePath: string, name: string, fallback: string | undefined, depth: number) {
    if (filePath === this.mainPath) {
      const given = this.given[name];
      if (given !== undefined) return given;
      if (fallback === undefined) throw new Error(`${filePath}: parameter ${name} needs a value`);
      return this.valueOf(filePath, fallback, depth + 1);
    }
    // A module's parameter: the value its caller passes.
    for (const caller of this.files) {
      for (const module of modulesOf(caller)) {
        if (module.target !== filePath) continue;
        const params = propertiesOf(module.body).get('params');
        const passed = params && propertiesOf(unbrace(params)).get(name);
        if (passed !== undefined) return this.valueOf(caller.path, passed, depth + 1);
      }
    }
    if (fallback !== undefined) return this.valueOf(filePath, fallback, depth + 1);
    throw new Error(`${filePath}: no caller passes parameter ${name}`);
  }

  isTrue(filePath: string, condition: string, depth = 0): boolean {
    const m = /^(.+?)\s*(==|!=)\s*(.+)$/s.exec(condition.trim());
    if (m) {
      const equal =
        this.valueOf(filePath, String(m[1]), depth + 1) ===
        this.valueOf(filePath, String(m[3]), depth + 1);
      return m[2] === '==' ? equal : !equal;
    }
    const empty = /^(!?)empty\((.+)\)$/s.exec(condition.trim());
    if (empty)
      return (this.valueOf(filePath, String(empty[2]), depth + 1) === '') !== (empty[1] === '!');
    throw new Error(`${filePath}: cannot tell whether ${condition} holds`);
  }

  private interpolate(filePath: string, literal: string, depth: number): string {
    const plain = stringLiteral(literal);
    if (plain !== undefined) return plain;
    if (!literal.endsWith("'")) throw new Error(`${filePath}: not one string: ${literal}`);
    let out = '';
    const body = literal.slice(1, -1);
    for (let i = 0; i < body.length; i += 1) {
      if (body.startsWith('${', i)) {
        let level = 0;
        let end = i + 2;
        for (; end < body.length; end += 1) {
          if (body[end] === '{') level += 1;
          else if (body[end] === '}') {
            if (level === 0) break;
            level -= 1;
          }
        }
        out += this.valueOf(filePath, body.slice(i + 2, end), depth + 1);
        i = end;
      } else if (body[i] === '\\') {
        i += 1;
        out += body[i] ?? '';
      } else out += body[i];
    }
    return out;
  }

  private file(path: string): BicepFile {
    const file = this.files.find((f) => f.path === path);
    if (!file) throw new Error(`no Bicep file ${path}`);
    return file;
  }
}

function stripParens(expr: string): string {
  let e = expr;
  while (e.startsWith('(') && e.endsWith(')') && matchingParen(e) === e.length - 1)
    e = e.slice(1, -1).trim();
  return e;
}

function matchingParen(expr: string): number {
  const code = codeOnly(expr);
  let depth = 0;
  for (let i = 0; i < code.length; i += 1) {
    if (code[i] === '(') depth += 1;
    else if (code[i] === ')') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** `a ? b : c` at the outer level, or undefined. */
function splitConditional(expr: string): [string, string, string] | undefined {
  const code = codeOnly(expr);
  let depth = 0;
  let question = -1;
  for (let i = 0; i < code.length; i += 1) {
    const c = code[i];
    if (c === '(' || c === '[' || c === '{') depth += 1;
    else if (c === ')' || c === ']' || c === '}') depth -= 1;
    else if (depth === 0 && c === '?' && question < 0) question = i;
    else if (depth === 0 && c === ':' && question >= 0)
      return [expr.slice(0, question), expr.slice(question + 1, i), expr.slice(i + 1)];
  }
  return undefined;
}

function unbrace(value: string): string {
  const code = codeOnly(value);
  const open = code.indexOf('{');
  const close = code.lastIndexOf('}');
  return open < 0 || close < open ? value : value.slice(open + 1, close);
}
