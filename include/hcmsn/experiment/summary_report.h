// report.html of an experiment: the variants against the baseline (baseline_comparison.h), then
// per evaluation the protocol, the query and gallery sizes, the table of summary.md (mean ±
// sample std (min–max) over the seeds) and a bar chart of the means with ± std error bars, one
// bar per baseline and variant.
#pragma once

#include <string>

#include "hcmsn/experiment/summary.h"

namespace hcmsn::experiment {

/// The whole HTML document (report/html_report.h: self-contained, escaped).
std::string summary_report_html(const ExperimentSummary& summary);

/// Writes summary_report_html(summary) to `path` atomically.
void write_summary_report(const std::string& path, const ExperimentSummary& summary);

}  // namespace hcmsn::experiment
