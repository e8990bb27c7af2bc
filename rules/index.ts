/**
 * rules/: policy files (YAML, validated with line-numbered errors) and the pure engine that maps signals to
 * actions. Other folders import only from here.
 */
export {
  ANALYSIS_FAILURE_RULE_ID,
  DEFAULT_POLICY_FILE,
  PRIORITIES,
  PolicyError,
  loadPolicy,
  loadPolicySync,
  parseDuration,
  parsePolicy,
  type ActionType,
  type Policy,
  type PolicyAction,
  type PolicyProblem,
  type Priority,
  type Rule,
  type RuleCondition,
  type RuleWindow,
} from './policy.ts';
export {
  evaluate,
  formatDuration,
  lookbackOf,
  type Decision,
  type EvaluationInput,
  type Evidence,
  type Firing,
  type SampleScores,
} from './engine.ts';
export {
  diffReplays,
  formatDiff,
  replay,
  type ActionRef,
  type BroadcastReplay,
  type BroadcastTimeline,
  type CaseRef,
  type PolicyDiff,
  type ReplayOptions,
  type ReplayResult,
  type ReplaySummary,
} from './replay.ts';
export {
  CHAT_VERDICTS,
  DEFAULT_CHAT_ACTIONS,
  TEXT_CATEGORIES,
  decideMessage,
  followUpFor,
  stricter,
  type ChatFollowUp,
  type ChatPolicy,
  type ChatVerdict,
  type MessageHistoryItem,
  type TextCategoryName,
  type VerdictReason,
} from './chat-policy.ts';
export {
  SPEECH_ANALYZER,
  SPEECH_SEVERITY_SCORE,
  speechScores,
  type SpeechFinding,
  type SpeechPolicy,
  type WatchPhrase,
} from './speech-policy.ts';
export { GUIDELINES, type Guidelines, type GuidelinesSection } from './guidelines.ts';
