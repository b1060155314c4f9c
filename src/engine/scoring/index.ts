export { computeStats, scoreFromValues, mean } from './stats.js';
export { passAtK, passAtKValues } from './pass-at-k.js';
export {
  normaliseNumber,
  numbersEqual,
  extractLastNumber,
  extractNumberAfterMarker,
  gsm8kGoldAnswer,
  extractAnswerLetter,
  extractCodeBlock,
  optionLetters,
} from './extraction.js';
export { buildMetrics, buildEvaluationResult, type MetricValues } from './results.js';
