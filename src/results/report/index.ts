/** The HTML reports: per job, per invocation, and of a comparison (see README "Reports"). */
export { embedJson, escapeHtml, renderReportPage, REPORT_CSP } from './html.js';
export {
  buildJobReportData,
  jobSamples,
  promptText,
  viewSamples,
  type JobReportData,
  type JobReportOptions,
  type RawPair,
  type ReportRequest,
  type ReportSample,
  type ReportScore,
} from './model.js';
export { JOB_REPORT_FILE, jobReportPathOf, renderJobReport, writeJobReport } from './job.js';
export {
  buildReports,
  type BuiltReports,
  type InvocationJobRow,
  type InvocationReportData,
  type ReportBuildOptions,
} from './invocation.js';
export {
  buildCompareReportData,
  compareRunsWithReport,
  renderCompareReport,
  type CompareReportData,
  type Disagreement,
} from './compare.js';
