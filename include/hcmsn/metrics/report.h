// Presenting a RetrievalResult: the JSON written by `hcmsn metrics --json` (and every other
// command that evaluates), and a human-readable table.
//
// JSON keys: map_all, prec@K and map@K for every requested K, num_queries, num_gallery,
// num_queries_without_relevant, empty_queries, protocol, protocol_description, protocol_source
// (the evaluation code the preset reproduces, "" for none), metric, curvature,
// seconds, per_class: { "<class>": { num_queries, num_relevant, map_all, prec@K, map@K } }.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "hcmsn/metrics/retrieval_evaluator.h"

namespace hcmsn::metrics {

nlohmann::json to_json(const RetrievalResult& result);

/// A summary table, plus the per-class table when `per_class` is set.
std::string format_table(const RetrievalResult& result, bool per_class = false);

}  // namespace hcmsn::metrics
