/**
 * Scopes, read from an acorn AST (a module, or one function's source):
 * every declaration — var (hoisted to its function), let, const, function
 * and class declarations (block-scoped, as in strict code), parameters,
 * catch parameters, imports, a function or class expression's own name,
 * destructuring patterns included — becomes a Binding in the scope the
 * language puts it in, and every identifier that reads or writes a variable
 * becomes a Reference, resolved to its Binding once the whole tree is read
 * (so hoisting needs no second pass; null: a global). For a reference at
 * the root of a member chain (`cfg.model.eps`) it also notes the static
 * fields read, which is what closure guards check instead of the whole value.
 *
 * The load-time transform asks it which variables a function reads from
 * outside itself; the tracer asks the same of a function's runtime source.
 */
import type * as acorn from 'acorn';
import { unwrapTooling } from './tooling';

export type FunctionNode =
  | acorn.FunctionDeclaration
  | acorn.FunctionExpression
  | acorn.ArrowFunctionExpression
  | acorn.AnonymousFunctionDeclaration;

export type BindingKind = 'var' | 'let' | 'const' | 'function' | 'class' | 'param' | 'catch' | 'import' | 'self' | 'arguments';

export type ScopeKind = 'module' | 'function' | 'block' | 'catch' | 'class' | 'name';

export interface Binding {
  readonly name: string;
  readonly kind: BindingKind;
  readonly scope: Scope;
  /** The declaring identifier (null for a function's implicit `arguments`). */
  readonly id: acorn.Identifier | null;
  /**
   * What the binding holds when declared, where that is known: a function
   * declaration's node, a class, a declarator's initializer (only when the
   * declarator binds this one name, not a pattern), seen through a build
   * tool's naming wrapper (`__name(fn, "f")` is `fn`, see ./tooling).
   */
  readonly init: acorn.AnyNode | null;
  /** For imports: the module and the imported name (`'*'` for a namespace, `'default'`). */
  readonly from: { readonly source: string; readonly imported: string } | null;
  /** Assigned after its declaration (`=`, `+=`, `++`, a for-in/of target, declared twice). */
  reassigned: boolean;
}

export class Scope {
  readonly bindings = new Map<string, Binding>();
  readonly depth: number;

  constructor(
    readonly parent: Scope | null,
    readonly kind: ScopeKind,
    readonly node: acorn.AnyNode,
    readonly isArrow = false,
  ) {
    this.depth = parent ? parent.depth + 1 : 0;
  }

  /** The binding `name` resolves to from this scope, or null (a global). */
  lookup(name: string): Binding | null {
    for (let s: Scope | null = this; s; s = s.parent) {
      const b = s.bindings.get(name);
      if (b) return b;
    }
    return null;
  }

  /** Where `var` and sloppy function declarations go: the nearest function or module scope. */
  get varScope(): Scope {
    let s: Scope = this;
    while (s.kind !== 'function' && s.kind !== 'module' && s.parent) s = s.parent;
    return s;
  }

  /**
   * Where `this` and `arguments` come from: the nearest function scope that
   * is not an arrow's, or the root. Class field initializers and static
   * blocks open arrow-like scopes, so their `this` is read as the enclosing
   * function's: a conservative answer for the side-effect analysis.
   */
  get thisScope(): Scope {
    let s: Scope = this;
    while (s.parent && !(s.kind === 'function' && !s.isArrow)) s = s.parent;
    return s;
  }

  /** Whether `other` is this scope or inside it. */
  contains(other: Scope): boolean {
    for (let s: Scope | null = other; s && s.depth >= this.depth; s = s.parent) if (s === this) return true;
    return false;
  }
}

export interface Reference {
  readonly id: acorn.Identifier;
  /** The scope the identifier is in. */
  readonly scope: Scope;
  /** Resolved once the tree is read; null: a global. */
  binding: Binding | null;
  /** Assigned (`x = ...`, `x++`, a destructuring or for-in/of target). */
  readonly write: boolean;
  /**
   * Static fields read off the value (`cfg.model.eps` -> ['model', 'eps'],
   * `w.shape[0]` -> ['shape']); null when the value itself is used (passed,
   * returned, spread, read with a computed key, or written).
   */
  readonly fields: readonly string[] | null;
}

export interface ScopeAnalysis {
  readonly root: Scope;
  readonly references: readonly Reference[];
  /** The scope a function opens (its parameters and body), or a class (its body). */
  scopeOf(fn: acorn.AnyNode): Scope | undefined;
  /** The reference an identifier node makes, if it makes one. */
  referenceOf(id: acorn.Identifier): Reference | undefined;
}

type AnyNode = acorn.AnyNode;

function isNode(v: unknown): v is AnyNode {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}

/** Child nodes in source order. */
export function children(node: AnyNode): AnyNode[] {
  const out: AnyNode[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'loc' || key === 'range') continue;
    if (Array.isArray(value)) {
      for (const v of value) if (isNode(v)) out.push(v);
    } else if (isNode(value)) out.push(value);
  }
  return out;
}

/** The names a binding pattern declares. */
export function patternNames(p: AnyNode | null | undefined, out: acorn.Identifier[] = []): acorn.Identifier[] {
  if (!p) return out;
  switch (p.type) {
    case 'Identifier':
      out.push(p);
      break;
    case 'ObjectPattern':
      for (const prop of p.properties) patternNames(prop.type === 'RestElement' ? prop.argument : prop.value, out);
      break;
    case 'ArrayPattern':
      for (const e of p.elements) patternNames(e, out);
      break;
    case 'RestElement':
      patternNames(p.argument, out);
      break;
    case 'AssignmentPattern':
      patternNames(p.left, out);
      break;
    default:
      break;
  }
  return out;
}

export function isFunctionNode(n: AnyNode): n is FunctionNode {
  return n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression';
}

class Walker {
  readonly references: Reference[] = [];
  readonly functionScopes = new Map<AnyNode, Scope>();
  readonly byId = new Map<acorn.Identifier, Reference>();
  /** Identifiers that declare a name (never references). */
  private readonly declared = new Set<acorn.Identifier>();

  declare(
    scope: Scope,
    id: acorn.Identifier | null,
    name: string,
    kind: BindingKind,
    init: AnyNode | null,
    from: Binding['from'] = null,
  ): void {
    if (id) this.declared.add(id);
    const existing = scope.bindings.get(name);
    if (existing) {
      // `var x; var x = ...` or a var over a parameter: the same variable, assigned again.
      existing.reassigned = true;
      return;
    }
    scope.bindings.set(name, { name, kind, scope, id, init, from, reassigned: false });
  }

  private ref(id: acorn.Identifier, scope: Scope, write: boolean, fields: readonly string[] | null): void {
    if (this.declared.has(id)) return;
    const r: Reference = { id, scope, binding: null, write, fields };
    this.references.push(r);
    this.byId.set(id, r);
  }

  // ---- declarations ----

  private declarePattern(p: AnyNode | null | undefined, scope: Scope, kind: BindingKind, init: AnyNode | null): void {
    const names = patternNames(p);
    const whole = p?.type === 'Identifier' ? unwrapTooling(init) : null;
    for (const id of names) this.declare(scope, id, id.name, kind, whole);
  }

  /**
   * The parts of a pattern that are not its names: default values and
   * computed keys are expressions read in `scope`, member targets read their
   * object. In an assignment target (`write`) its names are written; in a
   * declaration they are declared by declarePattern instead.
   */
  private visitPattern(p: AnyNode | null | undefined, scope: Scope, write = false): void {
    if (!p) return;
    switch (p.type) {
      case 'Identifier':
        if (write) this.ref(p, scope, true, null);
        return;
      case 'AssignmentPattern':
        this.visitPattern(p.left, scope, write);
        this.visit(p.right, scope);
        return;
      case 'ObjectPattern':
        for (const prop of p.properties) {
          if (prop.type === 'RestElement') this.visitPattern(prop.argument, scope, write);
          else {
            if (prop.computed) this.visit(prop.key, scope);
            this.visitPattern(prop.value, scope, write);
          }
        }
        return;
      case 'ArrayPattern':
        for (const e of p.elements) this.visitPattern(e, scope, write);
        return;
      case 'RestElement':
        this.visitPattern(p.argument, scope, write);
        return;
      case 'MemberExpression':
        this.member(p, scope, write);
        return;
      default:
        this.visit(p, scope);
    }
  }

  private declareVariables(n: acorn.VariableDeclaration, scope: Scope): void {
    const target = n.kind === 'var' ? scope.varScope : scope;
    const kind: BindingKind = n.kind === 'var' ? 'var' : n.kind === 'const' ? 'const' : 'let';
    for (const d of n.declarations) this.declarePattern(d.id, target, kind, d.init ?? null);
  }

  // ---- traversal ----

  visitFunction(fn: FunctionNode, outer: Scope): Scope {
    let parent = outer;
    if (fn.type === 'FunctionExpression' && fn.id) {
      // A function expression's own name is visible only inside it.
      parent = new Scope(outer, 'name', fn);
      this.declare(parent, fn.id, fn.id.name, 'self', fn);
    }
    const isArrow = fn.type === 'ArrowFunctionExpression';
    const scope = new Scope(parent, 'function', fn, isArrow);
    this.functionScopes.set(fn, scope);
    if (!isArrow) this.declare(scope, null, 'arguments', 'arguments', null);
    for (const p of fn.params) this.declarePattern(p, scope, 'param', null);
    for (const p of fn.params) this.visitPattern(p, scope);
    if (fn.body.type === 'BlockStatement') for (const s of fn.body.body) this.visit(s, scope);
    else this.visit(fn.body, scope);
    return scope;
  }

  private visitClass(n: acorn.ClassDeclaration | acorn.ClassExpression | acorn.AnonymousClassDeclaration, outer: Scope): void {
    const scope = new Scope(outer, 'class', n);
    this.functionScopes.set(n, scope);
    if (n.id) this.declare(scope, n.id, n.id.name, 'self', n);
    this.visit(n.superClass, scope);
    for (const m of n.body.body) {
      if (m.type === 'StaticBlock') {
        const block = new Scope(scope, 'function', m, true);
        for (const s of m.body) this.visit(s, block);
        continue;
      }
      if (m.computed) this.visit(m.key, scope);
      if (m.value) {
        if (m.type === 'PropertyDefinition') {
          // A field initializer runs like a method body: `this` is the instance.
          const init = new Scope(scope, 'function', m, true);
          this.visit(m.value, init);
        } else this.visit(m.value, scope);
      }
    }
  }

  /**
   * A member chain: the identifier at its root is a reference that reads the
   * chain's static fields (up to the first computed key); computed keys and
   * a non-identifier root are visited as expressions.
   */
  private member(n: acorn.MemberExpression, scope: Scope, assigned = false): void {
    const chain: acorn.MemberExpression[] = [];
    let root: AnyNode = n;
    while (root.type === 'MemberExpression' || root.type === 'ChainExpression') {
      if (root.type === 'ChainExpression') root = root.expression;
      else {
        chain.unshift(root);
        root = root.object;
      }
    }
    if (root.type === 'Identifier') {
      const fields: string[] = [];
      for (const m of chain) {
        if (m.computed || m.property.type !== 'Identifier') break;
        fields.push(m.property.name);
      }
      // `cfg.x = 1` changes the object: the whole of it is what matters then.
      this.ref(root, scope, false, assigned || fields.length === 0 ? null : fields);
    } else this.visit(root, scope);
    for (const m of chain) if (m.computed) this.visit(m.property, scope);
  }

  visit(n: AnyNode | null | undefined, scope: Scope): void {
    if (!n) return;
    switch (n.type) {
      case 'Program': {
        for (const s of n.body) this.visit(s, scope);
        return;
      }
      case 'ImportDeclaration': {
        const source = String(n.source.value);
        for (const s of n.specifiers) {
          const imported =
            s.type === 'ImportNamespaceSpecifier'
              ? '*'
              : s.type === 'ImportDefaultSpecifier'
                ? 'default'
                : s.imported.type === 'Identifier'
                  ? s.imported.name
                  : String(s.imported.value);
          this.declare(scope, s.local, s.local.name, 'import', null, { source, imported });
        }
        return;
      }
      case 'ExportNamedDeclaration':
        if (n.declaration) this.visit(n.declaration, scope);
        else if (!n.source) for (const s of n.specifiers) if (s.local.type === 'Identifier') this.ref(s.local, scope, false, null);
        return;
      case 'ExportDefaultDeclaration':
        this.visit(n.declaration, scope);
        return;
      case 'ExportAllDeclaration':
        return;
      case 'VariableDeclaration':
        this.declareVariables(n, scope);
        for (const d of n.declarations) {
          this.visitPattern(d.id, scope);
          this.visit(d.init, scope);
        }
        return;
      case 'FunctionDeclaration':
        if (n.id) this.declare(scope, n.id, n.id.name, 'function', n);
        this.visitFunction(n, scope);
        return;
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        this.visitFunction(n, scope);
        return;
      case 'ClassDeclaration':
        if (n.id) this.declare(scope, n.id, n.id.name, 'class', n);
        this.visitClass(n, scope);
        return;
      case 'ClassExpression':
        this.visitClass(n, scope);
        return;
      case 'BlockStatement': {
        const block = new Scope(scope, 'block', n);
        for (const s of n.body) this.visit(s, block);
        return;
      }
      case 'StaticBlock': {
        const block = new Scope(scope, 'function', n, true);
        for (const s of n.body) this.visit(s, block);
        return;
      }
      case 'ForStatement': {
        const loop = new Scope(scope, 'block', n);
        this.visit(n.init, loop);
        this.visit(n.test, loop);
        this.visit(n.update, loop);
        this.visit(n.body, loop);
        return;
      }
      case 'ForInStatement':
      case 'ForOfStatement': {
        const loop = new Scope(scope, 'block', n);
        if (n.left.type === 'VariableDeclaration') this.visit(n.left, loop);
        else this.visitPattern(n.left, loop, true);
        this.visit(n.right, loop);
        this.visit(n.body, loop);
        return;
      }
      case 'CatchClause': {
        const c = new Scope(scope, 'catch', n);
        this.declarePattern(n.param, c, 'catch', null);
        this.visitPattern(n.param, c);
        this.visit(n.body, c);
        return;
      }
      case 'SwitchStatement': {
        this.visit(n.discriminant, scope);
        const block = new Scope(scope, 'block', n);
        for (const c of n.cases) {
          this.visit(c.test, block);
          for (const s of c.consequent) this.visit(s, block);
        }
        return;
      }
      case 'Identifier':
        this.ref(n, scope, false, null);
        return;
      case 'MemberExpression':
        this.member(n, scope);
        return;
      case 'Property':
        if (n.computed) this.visit(n.key, scope);
        this.visit(n.value, scope);
        return;
      case 'MethodDefinition':
      case 'PropertyDefinition':
        if (n.computed) this.visit(n.key, scope);
        this.visit(n.value, scope);
        return;
      case 'AssignmentExpression':
        this.visitPattern(n.left, scope, true);
        this.visit(n.right, scope);
        return;
      case 'UpdateExpression':
        this.visitPattern(n.argument, scope, true);
        return;
      case 'LabeledStatement':
        this.visit(n.body, scope);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
      case 'PrivateIdentifier':
      case 'Literal':
      case 'ThisExpression':
      case 'Super':
      case 'TemplateElement':
        return;
      default:
        for (const c of children(n)) this.visit(c, scope);
    }
  }

  resolve(): void {
    for (const r of this.references) {
      r.binding = r.scope.lookup(r.id.name);
      if (r.write && r.binding) r.binding.reassigned = true;
    }
  }
}

/** Scopes and references of a module (`Program`) or of a single function. */
export function analyzeScopes(root: acorn.Program | FunctionNode): ScopeAnalysis {
  const w = new Walker();
  const top = new Scope(null, 'module', root);
  if (root.type === 'Program') w.visit(root, top);
  else w.visitFunction(root, top);
  w.resolve();
  return {
    root: top,
    references: w.references,
    scopeOf: (fn) => w.functionScopes.get(fn),
    referenceOf: (id) => w.byId.get(id),
  };
}

export interface FreeVariable {
  readonly name: string;
  /** What the name resolves to outside the function; null: a global. */
  readonly binding: Binding | null;
  /** The static fields read (deduplicated); null when the value itself is used somewhere. */
  readonly fields: readonly (readonly string[])[] | null;
  /** The function assigns the variable. */
  readonly written: boolean;
  /** Where it is first read, for messages. */
  readonly first: acorn.Identifier;
}

/**
 * The variables `fn` (a function or a class) reads or writes from outside
 * itself, in order of first use. A function expression's own name and
 * `arguments` are its own, as is a class's name inside its body.
 */
export function freeVariables(a: ScopeAnalysis, fn: AnyNode): FreeVariable[] {
  const scope = a.scopeOf(fn);
  if (!scope) return [];
  const own = scope.parent?.kind === 'name' && scope.parent.node === fn ? scope.parent : scope;
  const found = new Map<string, { binding: Binding | null; fields: string[][] | null; written: boolean; first: acorn.Identifier }>();
  for (const r of a.references) {
    if (!own.contains(r.scope)) continue;
    if (r.binding && own.contains(r.binding.scope)) continue;
    let v = found.get(r.id.name);
    if (!v) found.set(r.id.name, (v = { binding: r.binding, fields: [], written: false, first: r.id }));
    if (r.write) v.written = true;
    if (r.fields === null || r.write) v.fields = null;
    else if (v.fields && !v.fields.some((f) => f.length === r.fields!.length && f.every((x, i) => x === r.fields![i])))
      v.fields.push([...r.fields]);
  }
  return [...found].map(([name, v]) => ({ name, binding: v.binding, fields: v.fields, written: v.written, first: v.first }));
}
