/** Programmatic API for comparing runs sample by sample (what `nel compare` prints). */
export {
  compareJobs,
  compareRunJobs,
  compareRuns,
  formatComparison,
  loadArtifacts,
  loadRun,
  type CompareOptions,
  type CompareRunsOptions,
  type LoadedJob,
  type MetricComparison,
  type PairComparison,
  type TaskComparison,
} from '../results/compare.js';
export { comparePaired, mcnemarExactP, pairedBootstrap, type PairedComparison } from '../results/stats.js';
export {
  buildCompareReportData,
  compareRunsWithReport,
  renderCompareReport,
  type CompareReportData,
  type Disagreement,
} from '../results/report/compare.js';
