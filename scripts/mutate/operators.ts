/**
 * The mutants of one TypeScript file: small faults of the kind a gateway or CLI author makes (a
 * comparison off by one, a condition inverted, a check removed, a limit moved, a field left out of
 * an answer), each a single text edit of the source. Read with the TypeScript compiler's parser, so
 * an edit always replaces exactly one expression, operator or block.
 *
 * Not mutated, because the contract does not see them: type positions, import and export lines, the
 * arguments of log calls (what a component logs is not a wire answer), and string literals (log and
 * error texts would make hundreds of mutants that no client can tell apart from the original;
 * the answers' own texts are checked where the contract fixes them, and field names are not string
 * literals). A statement led by a `// mutation-equivalent: <reason>` comment declares its mutants
 * equivalent: those that survive are reported as equivalent, with the reason.
 */
import ts from 'typescript';

export type OperatorName =
  | 'EqualityOperator'
  | 'BoundaryOperator'
  | 'LogicalOperator'
  | 'ConditionalExpression'
  | 'BooleanLiteral'
  | 'BlockStatement'
  | 'ArithmeticOperator'
  | 'MethodExpression'
  | 'Regex'
  | 'NumericLiteral'
  | 'ObjectProperty'
  | 'UpdateOperator';

export const OPERATORS: Readonly<Record<OperatorName, string>> = {
  EqualityOperator: '=== and !== (== and !=) swapped; < becomes >=, > becomes <= and back',
  BoundaryOperator: '< and <= (> and >=) swapped: a limit moved by one',
  LogicalOperator: '&& and || swapped, ?? becomes &&',
  ConditionalExpression: 'the condition of an if, a ?: or a loop replaced by true or by false',
  BooleanLiteral: 'true and false swapped, !x becomes x',
  BlockStatement: 'a block (function body, branch, loop body) emptied',
  ArithmeticOperator: '+ and - swapped, * and / swapped, % becomes *',
  MethodExpression:
    'startsWith/endsWith, toLowerCase/toUpperCase, some/every, Math.min/Math.max swapped; trim, filter, slice, sort, reverse calls removed',
  Regex: 'a ^ or $ anchor removed, a {m,n} bound moved by one',
  NumericLiteral: 'an integer literal plus one (a status, a limit, a length, a lifetime)',
  ObjectProperty: 'one property left out of an object literal (a field missing from an answer)',
  UpdateOperator: '++ and -- swapped',
};

export interface Mutant {
  /** Repository-relative path, forward slashes. */
  file: string;
  /** 1-based line and column of the replaced text. */
  line: number;
  column: number;
  operator: OperatorName;
  /** Character offsets of the replaced text in the file. */
  start: number;
  end: number;
  original: string;
  replacement: string;
  /**
   * Why no client could tell this mutant from the original, when the source says so
   * (`// mutation-equivalent: reason` before the statement). The mutant is judged all the same: if a
   * scenario kills it the mark was not needed; if it survives it counts as equivalent, not survived.
   */
  equivalent?: string;
  /** The edit as a reader wants it: `< -> <=`, `field \`loginId\` left out`, `!allowed -> allowed`. */
  description: string;
  /** The innermost block, case clause, arrow expression body or file the mutant lives in: where its coverage is recorded. */
  scope: CoverageScope;
  /**
   * Where the switch between original and mutant goes in a build that holds every mutant
   * (instrument.ts): the smallest expression that holds the edit and can be replaced by `(c ? x : y)`,
   * or the block a BlockStatement mutant empties.
   */
  site: SwitchSite;
}

export interface SwitchSite {
  kind: 'expression' | 'block';
  start: number;
  end: number;
}

/**
 * Where a coverage probe goes: the start of a block's statements (`block`), of a case clause's
 * statements (`case`, after the colon), around an arrow function's expression body (`arrow`), or at
 * the start of the file (`file`, code that runs when the module loads).
 */
export interface CoverageScope {
  kind: 'block' | 'case' | 'arrow' | 'file';
  /** `block`/`case`: offset where the probe is inserted; `arrow`: the body's start and end. */
  start: number;
  end: number;
}

export interface FileMutants {
  mutants: Mutant[];
}

const K = ts.SyntaxKind;

/** Operator tokens and what each becomes, by mutation operator: `a < b` gives `a >= b` and `a <= b`. */
const TOKEN_SWAPS: ReadonlyArray<readonly [OperatorName, ts.SyntaxKind, ts.SyntaxKind]> = [
  ['EqualityOperator', K.EqualsEqualsEqualsToken, K.ExclamationEqualsEqualsToken],
  ['EqualityOperator', K.ExclamationEqualsEqualsToken, K.EqualsEqualsEqualsToken],
  ['EqualityOperator', K.EqualsEqualsToken, K.ExclamationEqualsToken],
  ['EqualityOperator', K.ExclamationEqualsToken, K.EqualsEqualsToken],
  ['EqualityOperator', K.LessThanToken, K.GreaterThanEqualsToken],
  ['EqualityOperator', K.LessThanEqualsToken, K.GreaterThanToken],
  ['EqualityOperator', K.GreaterThanToken, K.LessThanEqualsToken],
  ['EqualityOperator', K.GreaterThanEqualsToken, K.LessThanToken],
  ['BoundaryOperator', K.LessThanToken, K.LessThanEqualsToken],
  ['BoundaryOperator', K.LessThanEqualsToken, K.LessThanToken],
  ['BoundaryOperator', K.GreaterThanToken, K.GreaterThanEqualsToken],
  ['BoundaryOperator', K.GreaterThanEqualsToken, K.GreaterThanToken],
  ['LogicalOperator', K.AmpersandAmpersandToken, K.BarBarToken],
  ['LogicalOperator', K.BarBarToken, K.AmpersandAmpersandToken],
  ['LogicalOperator', K.QuestionQuestionToken, K.AmpersandAmpersandToken],
  ['ArithmeticOperator', K.PlusToken, K.MinusToken],
  ['ArithmeticOperator', K.MinusToken, K.PlusToken],
  ['ArithmeticOperator', K.AsteriskToken, K.SlashToken],
  ['ArithmeticOperator', K.SlashToken, K.AsteriskToken],
  ['ArithmeticOperator', K.PercentToken, K.AsteriskToken],
];

const METHOD_SWAPS: ReadonlyMap<string, string> = new Map([
  ['startsWith', 'endsWith'],
  ['endsWith', 'startsWith'],
  ['toLowerCase', 'toUpperCase'],
  ['toUpperCase', 'toLowerCase'],
  ['some', 'every'],
  ['every', 'some'],
  ['min', 'max'],
  ['max', 'min'],
]);

/** Calls whose result is their receiver, changed: removing the call leaves the receiver as it was. */
const REMOVABLE_CALLS = new Set(['trim', 'trimStart', 'trimEnd', 'filter', 'slice', 'sort', 'reverse']);

const LOG_METHODS = /^(debug|info|warn|error|log)$/;

const EQUIVALENT_MARK = /^\/\/\s*mutation-equivalent:\s*(.+)$/;

/**
 * Statements (or class members, or object properties) led by a `// mutation-equivalent: <reason>`
 * comment: every mutant inside one of them is declared equivalent for that reason.
 */
function equivalentSpans(source: ts.SourceFile): Array<{ start: number; end: number; reason: string }> {
  const text = source.text;
  const spans: Array<{ start: number; end: number; reason: string }> = [];
  const visit = (node: ts.Node) => {
    if (ts.isStatement(node) || ts.isClassElement(node) || ts.isObjectLiteralElement(node)) {
      // The mark's reason may go on over the comment lines that follow it.
      const comments = (ts.getLeadingCommentRanges(text, node.pos) ?? []).map((r) => text.slice(r.pos, r.end).trim());
      const at = comments.findIndex((comment) => EQUIVALENT_MARK.test(comment));
      const first = at >= 0 ? EQUIVALENT_MARK.exec(comments[at] as string)?.[1] : undefined;
      if (first) {
        const rest = comments.slice(at + 1).map((comment) => comment.replace(/^\/\/\s?/, ''));
        spans.push({ start: node.getStart(source), end: node.getEnd(), reason: [first, ...rest].join(' ').trim() });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return spans;
}

export function mutantsOf(file: string, text: string): FileMutants {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const spans = equivalentSpans(source);
  const mutants: Mutant[] = [];
  const fileScope: CoverageScope = { kind: 'file', start: 0, end: 0 };

  // The innermost marked statement holding the edit gives the reason.
  const equivalenceReason = (start: number, end: number): string | undefined =>
    spans
      .filter((span) => span.start <= start && end <= span.end)
      .sort((a, b) => a.end - a.start - (b.end - b.start))[0]?.reason;

  const add: Add = (operator, description, start, end, replacement, scope, siteNode, markedAt) => {
    const { line, character } = source.getLineAndCharacterOfPosition(start);
    const original = text.slice(start, end);
    const reason = markedAt
      ? equivalenceReason(markedAt.getStart(source), markedAt.getEnd())
      : equivalenceReason(start, end);
    const top = ts.isBlock(siteNode) ? siteNode : outermostOfChain(siteNode);
    const site: SwitchSite = {
      kind: ts.isBlock(top) ? 'block' : 'expression',
      start: top.getStart(source),
      end: top.getEnd(),
    };
    mutants.push({
      file,
      line: line + 1,
      column: character + 1,
      operator,
      start,
      end,
      original,
      replacement,
      description,
      scope,
      site,
      ...(reason === undefined ? {} : { equivalent: reason }),
    });
  };

  const visit = (node: ts.Node, scope: CoverageScope): void => {
    if (isUnmutated(node)) return;
    const inner = scopeOf(node, source) ?? scope;
    // Emptying a block is reached when the block runs: its own probe says so.
    mutate(node, source, ts.isBlock(node) ? inner : scope, add);
    // An arrow's expression body gets its own probe; a block's statements theirs.
    ts.forEachChild(node, (child) => {
      if (ts.isArrowFunction(node) && child === node.body && !ts.isBlock(child)) {
        visit(child, { kind: 'arrow', start: child.getStart(source), end: child.getEnd() });
      } else {
        visit(child, inner);
      }
    });
  };
  visit(source, fileScope);
  mutants.sort((a, b) => a.start - b.start || a.end - b.end);
  return { mutants };
}

function isUnmutated(node: ts.Node): boolean {
  if (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node)) return true;
  if (
    ts.isImportDeclaration(node) ||
    ts.isExportDeclaration(node) ||
    ts.isInterfaceDeclaration(node) ||
    ts.isTypeAliasDeclaration(node) ||
    ts.isModuleDeclaration(node)
  ) {
    return true;
  }
  if (ts.isCallExpression(node) && isLogCall(node)) return true;
  // `declare` and overload signatures have no code.
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && !node.body) return true;
  return false;
}

function isLogCall(call: ts.CallExpression): boolean {
  const callee = call.expression;
  if (!ts.isPropertyAccessExpression(callee) || !LOG_METHODS.test(callee.name.text)) return false;
  const receiver = callee.expression.getText();
  return /(^|\.)(logger|log|console)$/.test(receiver);
}

function scopeOf(node: ts.Node, source: ts.SourceFile): CoverageScope | undefined {
  if (ts.isBlock(node) || ts.isModuleBlock(node)) {
    const open = node.getStart(source) + 1;
    return { kind: 'block', start: open, end: open };
  }
  if (ts.isCaseClause(node) || ts.isDefaultClause(node)) {
    const statements = node.statements;
    const at = statements.length > 0 ? statements.pos : node.getEnd();
    return { kind: 'case', start: at, end: at };
  }
  return undefined;
}

type Add = (
  operator: OperatorName,
  description: string,
  start: number,
  end: number,
  replacement: string,
  scope: CoverageScope,
  /** The node whose text the switch replaces (see Mutant.site). */
  siteNode: ts.Node,
  /** Where a `// mutation-equivalent:` mark must be to cover this mutant, when not the edit itself. */
  markedAt?: ts.Node,
) => void;

/**
 * `a?.b.c(d)` is one optional chain: replacing an inner link by `(c ? x : y)` would end the chain
 * there (a nullish `a` would then throw instead of giving undefined), so the switch takes the chain.
 */
function outermostOfChain(node: ts.Node): ts.Node {
  let current = node;
  while (
    (ts.isPropertyAccessExpression(current.parent) ||
      ts.isElementAccessExpression(current.parent) ||
      ts.isCallExpression(current.parent) ||
      ts.isNonNullExpression(current.parent)) &&
    current.parent.expression === current &&
    (current.parent.flags & ts.NodeFlags.OptionalChain) !== 0
  ) {
    current = current.parent;
  }
  return current;
}

function mutate(node: ts.Node, source: ts.SourceFile, scope: CoverageScope, add: Add): void {
  const startOf = (n: ts.Node) => n.getStart(source);

  if (ts.isBinaryExpression(node)) {
    const op = node.operatorToken;
    const kind = op.kind;
    // The whole expression is rewritten with its operands in parentheses: `a ?? b ?? c` with one `??`
    // turned into `&&` must read `(a) && (b) ?? c`... which JavaScript refuses, hence `((a) && (b)) ?? c`
    // from the switch's own parentheses (instrument.ts).
    const left = node.left.getText(source);
    const right = node.right.getText(source);
    const swap = (operator: OperatorName, to: ts.SyntaxKind) => {
      const token = ts.tokenToString(to) ?? '';
      const description = `${op.getText(source)} -> ${token}`;
      add(operator, description, startOf(node), node.getEnd(), `(${left}) ${token} (${right})`, scope, node);
    };
    for (const [operator, from, to] of TOKEN_SWAPS) {
      if (from !== kind) continue;
      if (operator === 'ArithmeticOperator' && kind === K.PlusToken && joinsText(node)) continue;
      swap(operator, to);
    }
    return;
  }

  if (ts.isIfStatement(node) || ts.isConditionalExpression(node)) {
    const condition = ts.isIfStatement(node) ? node.expression : node.condition;
    for (const value of ['true', 'false']) {
      const description = `condition ${condition.getText(source)} -> ${value}`;
      add('ConditionalExpression', description, startOf(condition), condition.getEnd(), value, scope, condition);
    }
    return;
  }
  if ((ts.isWhileStatement(node) || ts.isDoStatement(node)) && node.expression) {
    const condition = node.expression;
    const description = `loop condition ${condition.getText(source)} -> false`;
    add('ConditionalExpression', description, startOf(condition), condition.getEnd(), 'false', scope, condition);
    return;
  }
  if (ts.isForStatement(node) && node.condition) {
    const condition = node.condition;
    const description = `loop condition ${condition.getText(source)} -> false`;
    add('ConditionalExpression', description, startOf(condition), condition.getEnd(), 'false', scope, condition);
    return;
  }

  if (node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword) {
    const swapped = node.kind === ts.SyntaxKind.TrueKeyword ? 'false' : 'true';
    add('BooleanLiteral', `${node.getText(source)} -> ${swapped}`, startOf(node), node.getEnd(), swapped, scope, node);
    return;
  }
  if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken) {
    // `!!x` is a cast to boolean, not a decision: only the outer `!` of a pair is mutated.
    if (ts.isPrefixUnaryExpression(node.parent) && node.parent.operator === ts.SyntaxKind.ExclamationToken) return;
    const operand = node.operand.getText(source);
    add('BooleanLiteral', `!${operand} -> ${operand}`, startOf(node), node.getEnd(), operand, scope, node);
    return;
  }
  if (
    (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
    (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken)
  ) {
    const text = node.getText(source);
    const swapped = node.operator === ts.SyntaxKind.PlusPlusToken ? text.replace('++', '--') : text.replace('--', '++');
    add('UpdateOperator', `${text} -> ${swapped}`, startOf(node), node.getEnd(), swapped, scope, node);
    return;
  }

  if (ts.isBlock(node) && node.statements.length > 0 && !isEmptiedUselessly(node)) {
    const lines = node.getText(source).split('\n').length;
    add('BlockStatement', `block of ${lines} line(s) emptied`, startOf(node), node.getEnd(), '{}', scope, node);
    return;
  }

  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
    const callee = node.expression;
    const name = callee.name.text;
    const swap = METHOD_SWAPS.get(name);
    const isMath = callee.expression.getText(source) === 'Math';
    if (swap && ((name !== 'min' && name !== 'max') || isMath)) {
      add('MethodExpression', `${name}() -> ${swap}()`, startOf(callee.name), callee.name.getEnd(), swap, scope, node);
    } else if (REMOVABLE_CALLS.has(name) && !ts.isOptionalChain(node)) {
      const receiver = callee.expression.getText(source);
      add('MethodExpression', `.${name}() call removed`, startOf(node), node.getEnd(), receiver, scope, node);
    }
    return;
  }

  if (ts.isRegularExpressionLiteral(node)) {
    for (const variant of regexVariants(node.text)) {
      add('Regex', `${node.text} -> ${variant}`, startOf(node), node.getEnd(), variant, scope, node);
    }
    return;
  }

  if (ts.isNumericLiteral(node) && isValueNumber(node)) {
    const value = Number(node.text.replaceAll('_', ''));
    if (Number.isSafeInteger(value)) {
      const plusOne = String(value + 1);
      add('NumericLiteral', `${node.text} -> ${plusOne}`, startOf(node), node.getEnd(), plusOne, scope, node);
    }
    return;
  }

  if (ts.isObjectLiteralExpression(node) && node.properties.length > 0 && isDataLeavingFunction(node)) {
    const texts = node.properties.map((property) => property.getText(source));
    node.properties.forEach((property, index) => {
      const others = texts.filter((_, other) => other !== index);
      const name = property.name ? property.name.getText(source) : property.getText(source).slice(0, 40);
      add(
        'ObjectProperty',
        `\`${name}\` left out`,
        startOf(node),
        node.getEnd(),
        `{ ${others.join(', ')} }`,
        scope,
        node,
        // The edit rewrites the whole literal; a mark on the property left out speaks for it.
        property,
      );
    });
  }
}

/** `a + b` where either side is text: swapping it for `-` makes NaN of a message, not a wrong decision. */
function joinsText(node: ts.BinaryExpression): boolean {
  const isText = (n: ts.Expression) =>
    ts.isStringLiteral(n) || ts.isTemplateExpression(n) || ts.isNoSubstitutionTemplateLiteral(n) || joinsTextDeep(n);
  return isText(node.left) || isText(node.right);
}

function joinsTextDeep(n: ts.Expression): boolean {
  return ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.PlusToken && joinsText(n);
}

/** A block whose emptying changes nothing a test could see, e.g. one that only throws what the caller ignores. */
function isEmptiedUselessly(block: ts.Block): boolean {
  // A constructor body that only assigns parameter properties is TypeScript's, not ours.
  if (ts.isConstructorDeclaration(block.parent) && block.statements.every((s) => ts.isEmptyStatement(s))) return true;
  // A block that only logs: what a component logs is not a wire answer (log calls are not mutated).
  return block.statements.every(
    (s) => ts.isExpressionStatement(s) && ts.isCallExpression(s.expression) && isLogCall(s.expression),
  );
}

/** A number that is a value (not a property name, an enum member's name, or a type). */
function isValueNumber(node: ts.NumericLiteral): boolean {
  const parent = node.parent;
  if (ts.isPropertyAssignment(parent) && parent.name === node) return false;
  if (ts.isLiteralTypeNode(parent)) return false;
  if (ts.isElementAccessExpression(parent) && parent.argumentExpression === node && node.text === '0') return false;
  return true;
}

/**
 * Object literals that leave the function as data: an answer (`res.json({...})`), a returned value,
 * a stored record. A field missing there is a fault a client can see; one missing from an options
 * bag handed to a library is a configuration slip the contract does not describe.
 */
const SENDS_OR_STORES = /^(json|send|end|write|set|put|save|insert|upsert|update|create|resolve|render)$/;

function isDataLeavingFunction(node: ts.ObjectLiteralExpression): boolean {
  let current: ts.Node = node;
  // A literal nested in such a literal (a field's value) leaves with it.
  while (ts.isPropertyAssignment(current.parent) && ts.isObjectLiteralExpression(current.parent.parent)) {
    current = current.parent.parent;
  }
  let parent = current.parent;
  while (ts.isParenthesizedExpression(parent) || ts.isAsExpression(parent) || ts.isSatisfiesExpression(parent)) {
    current = parent;
    parent = parent.parent;
  }
  if (ts.isReturnStatement(parent) || (ts.isArrowFunction(parent) && parent.body === current)) return true;
  if (ts.isCallExpression(parent) && parent.arguments.includes(current as ts.Expression)) {
    const callee = parent.expression;
    const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
    return SENDS_OR_STORES.test(name);
  }
  return false;
}

/** Anchors dropped one at a time; each numeric bound of a {m,n} quantifier moved by one. */
export function regexVariants(literal: string): string[] {
  const lastSlash = literal.lastIndexOf('/');
  const body = literal.slice(1, lastSlash);
  const flags = literal.slice(lastSlash + 1);
  const variants: string[] = [];
  const wrap = (b: string) => `/${b}/${flags}`;
  if (body.startsWith('^')) variants.push(wrap(body.slice(1)));
  if (body.endsWith('$') && !body.endsWith('\\$')) variants.push(wrap(body.slice(0, -1)));
  const quantifier = /\{(\d+)(,(\d*))?\}/g;
  for (const match of body.matchAll(quantifier)) {
    const [whole, low, comma, high] = match;
    const at = match.index ?? 0;
    const replace = (text: string) => wrap(body.slice(0, at) + text + body.slice(at + whole.length));
    const lowValue = Number(low);
    if (comma === undefined) {
      variants.push(replace(`{${lowValue + 1}}`));
      continue;
    }
    variants.push(replace(`{${lowValue + 1},${high ?? ''}}`));
    if (high) variants.push(replace(`{${low},${Number(high) - 1}}`));
  }
  return variants;
}
