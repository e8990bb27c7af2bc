/**
 * Policy files: YAML text -> validated, normalised {@link Policy}.
 *
 * Every problem (YAML syntax or schema) is reported as `FILE:LINE:COL: message`, so an operator's editor
 * can jump to it. Objects are strict: an unknown key is an error, which is how typos get caught.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, isNode, isScalar, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { duration, parseDuration } from './duration.ts';
import { chatPolicySchema, normaliseChatPolicy, type ChatPolicy } from './chat-policy.ts';
import { SPEECH_ANALYZER, normaliseSpeechPolicy, speechPolicySchema, type SpeechPolicy } from './speech-policy.ts';
import { checkModerationPolicy, moderationPolicySchema, normaliseModerationPolicy, type ModerationPolicy } from './moderation-policy.ts';
import { TEXT_CATEGORIES } from '../analyzer/text/types.ts';

export { parseDuration };

/** Review priorities, most urgent first (DESIGN.md "Review"). */
export const PRIORITIES = ['critical', 'urgent', 'high', 'normal', 'low'] as const;
/** Priority of a review case; each maps to an SLA in moderation/. */
export type Priority = (typeof PRIORITIES)[number];

/** Rule id of the decision made when an analyzer failed on a sample and the policy says `hold`. */
export const ANALYSIS_FAILURE_RULE_ID = 'analysis-failure';

/**
 * One action a rule asks enforcement (moderation/) to take. Durations are milliseconds.
 * `ban.durationMs` is `null` for a permanent ban.
 */
export type PolicyAction =
  | { type: 'review'; priority: Priority }
  | { type: 'end_stream' }
  | { type: 'suspend'; durationMs: number }
  | { type: 'ban'; durationMs: number | null }
  | { type: 'timeout'; durationMs: number }
  | { type: 'mute' }
  | { type: 'block_message' };

/** The action type names, as in DESIGN.md. */
export type ActionType = PolicyAction['type'];

/**
 * How many qualifying samples a rule needs, ending at the evaluated sample:
 * - `consecutive`: the last `samples` samples (contiguous seqs) all qualify;
 * - `count`: at least `samples` qualifying samples captured within the last `withinMs` milliseconds.
 */
export type RuleWindow =
  | { kind: 'consecutive'; samples: number }
  | { kind: 'count'; samples: number; withinMs: number };

/** The signal condition of a rule: a sample qualifies when max(scores[analyzer][label] for label in labels) >= minScore. */
export interface RuleCondition {
  analyzer: string;
  labels: string[];
  /** Inclusive threshold in 0..1. */
  minScore: number;
  window: RuleWindow;
}

/** One normalised rule (category shorthands are expanded to `<category>.flag` / `<category>.terminate`). */
export interface Rule {
  id: string;
  description: string | null;
  /** `shadow` rules are evaluated and recorded, never enforced. */
  mode: 'enforce' | 'shadow';
  /** The category this rule was expanded from, or null for a rule written under `rules:`. */
  category: string | null;
  when: RuleCondition;
  /** After firing on a broadcast, don't fire again for samples captured within this many ms (0 = no cooldown). */
  cooldownMs: number;
  actions: PolicyAction[];
}

/** A validated, normalised policy. `version` is recorded with every decision. */
export interface Policy {
  version: string;
  /** What an analyzer failure on a sample means: `hold` opens a normal review case, `pass` records nothing more. */
  onAnalysisFailure: 'hold' | 'pass';
  rules: Rule[];
  /** Live chat: limits, verdict per text category, follow-ups. */
  chat: ChatPolicy;
  /** Live speech: the spoken watch-list that keyword search listens for. */
  speech: SpeechPolicy;
  /** Review: reason codes and their strike weights, queues, the strike escalation ladder. */
  moderation: ModerationPolicy;
  /** The file (or label) the policy was parsed from, for messages. */
  file: string;
}

/** One problem in a policy file; `line` and `col` are 1-based, `path` is the location in the YAML tree. */
export interface PolicyProblem {
  line: number;
  col: number;
  message: string;
  path: (string | number)[];
}

/** Thrown by {@link parsePolicy} / {@link loadPolicy}; `message` holds one `FILE:LINE:COL: message` line per problem. */
export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    readonly file: string,
    readonly errors: PolicyProblem[],
  ) {
    super(errors.map((e) => `${file}:${e.line}:${e.col}: ${formatPath(e.path)}${e.message}`).join('\n'));
  }
}

// ---------------------------------------------------------------------------------------------- schema

const score = z
  .number({ error: 'expected a score between 0 and 1' })
  .min(0, 'a score threshold must be between 0 and 1')
  .max(1, 'a score threshold must be between 0 and 1');
const count = z.int({ error: 'expected a whole number' }).min(1, 'must be at least 1');
const priority = z.enum(PRIORITIES, { error: `expected one of ${PRIORITIES.join(', ')}` });
const mode = z.enum(['enforce', 'shadow'], { error: 'expected enforce or shadow' });
const name = z.string().min(1);
const labels = z.array(name).min(1, 'at least one label is needed');

const windowFields = { consecutive: count.optional(), count: count.optional(), within: duration(false).optional() };

const thresholdSchema = z.strictObject({
  min_score: score,
  priority: priority.optional(),
  ...windowFields,
  cooldown: duration(true).optional(),
  mode: mode.optional(),
  description: z.string().optional(),
});

const categorySchema = z.strictObject({
  analyzer: name,
  labels,
  description: z.string().optional(),
  mode: mode.optional(),
  flag: thresholdSchema.optional(),
  terminate: thresholdSchema.optional(),
});

const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('review'), priority }),
  z.strictObject({ type: z.literal('end_stream') }),
  z.strictObject({ type: z.literal('suspend'), duration: duration(false) }),
  z.strictObject({ type: z.literal('ban'), duration: duration(false).optional() }),
  z.strictObject({ type: z.literal('timeout'), duration: duration(false) }),
  z.strictObject({ type: z.literal('mute') }),
  z.strictObject({ type: z.literal('block_message') }),
]);

const ruleSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'a rule id uses lowercase letters, digits, ".", "_" and "-"'),
  description: z.string().optional(),
  mode: mode.optional(),
  when: z.strictObject({ analyzer: name, labels, min_score: score, ...windowFields }),
  cooldown: duration(true).optional(),
  actions: z.array(actionSchema).min(1, 'a rule needs at least one action'),
});

const policySchema = z.strictObject({
  version: z.union([z.string().min(1), z.number()], { error: 'expected a version string' }).transform(String),
  on_analysis_failure: z.enum(['hold', 'pass'], { error: 'expected hold or pass' }).optional(),
  categories: z.record(z.string(), categorySchema).optional(),
  rules: z.array(ruleSchema).optional(),
  chat: chatPolicySchema.optional(),
  speech: speechPolicySchema.optional(),
  moderation: moderationPolicySchema.optional(),
});

type RawPolicy = z.output<typeof policySchema>;
type RawWindow = { consecutive?: number | undefined; count?: number | undefined; within?: number | undefined };
type Path = (string | number)[];
interface Issue {
  path: Path;
  message: string;
  /** Point at the key of the last path segment rather than its value. */
  atKey?: boolean;
}

// ---------------------------------------------------------------------------------------------- parsing

/**
 * Parses and validates policy YAML. `file` is used only in messages.
 * @throws PolicyError with every problem found (YAML syntax errors first; schema errors only when the YAML parses).
 */
export function parsePolicy(text: string, file: string): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      file,
      doc.errors.map((e) => ({ ...lineCounter.linePos(e.pos[0]), message: e.message.split('\n')[0] ?? e.message, path: [] })),
    );
  }
  if (doc.contents === null) {
    throw new PolicyError(file, [{ line: 1, col: 1, message: 'the policy is empty (expected a mapping with at least version)', path: [] }]);
  }
  const parsed = policySchema.safeParse(doc.toJS());
  const issues: Issue[] = parsed.success ? checkSemantics(parsed.data) : zodIssues(parsed.error.issues);
  if (issues.length > 0 || !parsed.success) {
    const problems = issues.map((issue) => locate(doc, lineCounter, issue));
    throw new PolicyError(file, problems.sort((a, b) => a.line - b.line || a.col - b.col));
  }
  return normalise(parsed.data, file);
}

/**
 * Reads and parses a policy file synchronously (e.g. `rules/policy.yaml`).
 * @throws PolicyError on invalid content; the fs error (ENOENT, ...) when the file cannot be read.
 */
export function loadPolicySync(file: string): Policy {
  return parsePolicy(readFileSync(file, 'utf8'), file);
}

/**
 * Reads and parses a policy file.
 * @throws PolicyError on invalid content; the fs error (ENOENT, ...) when the file cannot be read.
 */
export async function loadPolicy(file: string): Promise<Policy> {
  return parsePolicy(await readFile(file, 'utf8'), file);
}

/** The default policy file shipped with Warden (`rules/policy.yaml`), as an absolute path. */
export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('./policy.yaml', import.meta.url));

function zodIssues(issues: z.core.$ZodIssue[]): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown key "${key}"`, atKey: true });
    } else if (issue.code === 'invalid_union' && issue.discriminator) {
      const options = (issue as { options?: unknown[] }).options ?? [];
      out.push({ path, message: `unknown ${issue.discriminator}; expected one of ${options.map(String).join(', ')}` });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function checkWindow(w: RawWindow, path: Path, issues: Issue[]): void {
  if (w.consecutive !== undefined && w.count !== undefined) {
    issues.push({ path: [...path, 'count'], message: 'use either consecutive or count/within, not both', atKey: true });
  } else if (w.count !== undefined && w.within === undefined) {
    issues.push({ path: [...path, 'count'], message: 'count needs a within window (e.g. within: 60s)', atKey: true });
  } else if (w.within !== undefined && w.count === undefined) {
    issues.push({ path: [...path, 'within'], message: 'within needs a count', atKey: true });
  }
}

/** Cross-field checks that the schema cannot express; run only once the shapes are valid. */
function checkSemantics(raw: RawPolicy): Issue[] {
  const issues: Issue[] = [...checkModerationPolicy(raw.moderation)];
  const ids = new Map<string, string>();
  const claim = (id: string, path: Path, where: string) => {
    if (id === ANALYSIS_FAILURE_RULE_ID) {
      issues.push({ path, message: `rule id "${id}" is reserved for analyzer failures` });
    } else if (ids.has(id)) {
      issues.push({ path, message: `duplicate rule id "${id}" (already used by ${ids.get(id)})` });
    } else {
      ids.set(id, where);
    }
  };
  const speechLabels = (labels: string[], path: Path) => {
    for (const [i, l] of labels.entries()) {
      if (!(TEXT_CATEGORIES as readonly string[]).includes(l)) {
        issues.push({ path: [...path, i], message: `speech labels are text categories (${TEXT_CATEGORIES.join(', ')}); got "${l}"` });
      }
    }
  };
  for (const [cat, c] of Object.entries(raw.categories ?? {})) {
    const at: Path = ['categories', cat];
    if (c.analyzer === SPEECH_ANALYZER) speechLabels(c.labels, [...at, 'labels']);
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(cat)) {
      issues.push({ path: at, message: 'a category name uses lowercase letters, digits, "_" and "-"', atKey: true });
    }
    if (!c.flag && !c.terminate) issues.push({ path: at, message: 'a category needs flag and/or terminate', atKey: true });
    if (c.flag) {
      checkWindow(c.flag, [...at, 'flag'], issues);
      claim(`${cat}.flag`, [...at, 'flag'], `category ${cat}`);
    }
    if (c.terminate) {
      checkWindow(c.terminate, [...at, 'terminate'], issues);
      claim(`${cat}.terminate`, [...at, 'terminate'], `category ${cat}`);
      if (c.flag && c.terminate.min_score <= c.flag.min_score) {
        issues.push({
          path: [...at, 'terminate', 'min_score'],
          message: `terminate threshold ${c.terminate.min_score} must be above the flag threshold ${c.flag.min_score}`,
        });
      }
    }
  }
  (raw.rules ?? []).forEach((r, i) => {
    checkWindow(r.when, ['rules', i, 'when'], issues);
    if (r.when.analyzer === SPEECH_ANALYZER) speechLabels(r.when.labels, ['rules', i, 'when', 'labels']);
    claim(r.id, ['rules', i, 'id'], `rules[${i}]`);
  });
  return issues;
}

/** Maps an issue path to a position: the node itself, else its nearest existing parent. */
function locate(doc: Document, lc: LineCounter, issue: Issue): PolicyProblem {
  const { path } = issue;
  let message = issue.message;
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    if (issue.atKey && n === path.length && n > 0) {
      const parent = n === 1 ? doc.contents : doc.getIn(sub.slice(0, -1), true);
      const last = String(path[n - 1]);
      const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last) : undefined;
      if (pair && isNode(pair.key) && pair.key.range) return { ...lc.linePos(pair.key.range[0]), message, path };
    }
    const node = n === 0 ? doc.contents : doc.getIn(sub, true);
    if (isNode(node) && node.range) {
      if (n === path.length - 1 && isMap(node) && typeof path[n] === 'string' && !node.has(path[n])) {
        message = `missing required key "${path[n]}"`;
      }
      return { ...lc.linePos(node.range[0]), message, path };
    }
  }
  return { line: 1, col: 1, message, path };
}

function formatPath(path: Path): string {
  if (path.length === 0) return '';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') + ': ';
}

// ---------------------------------------------------------------------------------------------- normalising

function toWindow(w: RawWindow): RuleWindow {
  return w.count !== undefined && w.within !== undefined
    ? { kind: 'count', samples: w.count, withinMs: w.within }
    : { kind: 'consecutive', samples: w.consecutive ?? 1 };
}

function toAction(a: z.output<typeof actionSchema>): PolicyAction {
  switch (a.type) {
    case 'review':
      return { type: 'review', priority: a.priority };
    case 'suspend':
    case 'timeout':
      return { type: a.type, durationMs: a.duration };
    case 'ban':
      return { type: 'ban', durationMs: a.duration ?? null };
    default:
      return { type: a.type };
  }
}

function normalise(raw: RawPolicy, file: string): Policy {
  const rules: Rule[] = [];
  for (const [cat, c] of Object.entries(raw.categories ?? {})) {
    for (const level of ['flag', 'terminate'] as const) {
      const t = c[level];
      if (!t) continue;
      const priority: Priority = t.priority ?? (level === 'flag' ? 'normal' : 'urgent');
      rules.push({
        id: `${cat}.${level}`,
        description: t.description ?? c.description ?? null,
        mode: t.mode ?? c.mode ?? 'enforce',
        category: cat,
        when: { analyzer: c.analyzer, labels: c.labels, minScore: t.min_score, window: toWindow(t) },
        cooldownMs: t.cooldown ?? 0,
        actions: level === 'flag' ? [{ type: 'review', priority }] : [{ type: 'review', priority }, { type: 'end_stream' }],
      });
    }
  }
  for (const r of raw.rules ?? []) {
    rules.push({
      id: r.id,
      description: r.description ?? null,
      mode: r.mode ?? 'enforce',
      category: null,
      when: { analyzer: r.when.analyzer, labels: r.when.labels, minScore: r.when.min_score, window: toWindow(r.when) },
      cooldownMs: r.cooldown ?? 0,
      actions: r.actions.map(toAction),
    });
  }
  return { version: raw.version, onAnalysisFailure: raw.on_analysis_failure ?? 'hold', rules, chat: normaliseChatPolicy(raw.chat), speech: normaliseSpeechPolicy(raw.speech), moderation: normaliseModerationPolicy(raw.moderation), file };
}
