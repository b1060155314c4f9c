export {
  startReferenceEndpoint,
  benchmarkNames,
  isCorrectAt,
  requestKey,
  FAULT_KINDS,
  type FaultKind,
  type ReferenceBenchmark,
  type ReferenceEndpoint,
  type ReferenceEndpointOptions,
  type ReferenceEndpointStats,
} from './server.js';
export { runSelfCheck, type SelfCheckOptions, type SelfCheckResult } from './self-check.js';
