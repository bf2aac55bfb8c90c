#include "hcmsn/experiment/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "hcmsn/experiment/baseline_comparison.h"
#include "hcmsn/util/check.h"

namespace hcmsn::experiment {
namespace {

// "prec@100" -> ("prec", 100); false for keys that are not a cut-off metric.
bool parse_cutoff(const std::string& key, std::string& kind, int64_t& k) {
  const auto at = key.find('@');
  if (at == std::string::npos) return false;
  kind = key.substr(0, at);
  if (kind != "prec" && kind != "map") return false;
  const std::string digits = key.substr(at + 1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  k = std::stoll(digits);
  return true;
}

// map_all first, then per K (increasing) prec@K and map@K: the order of `hcmsn metrics`' table.
std::vector<std::string> metrics_of(const nlohmann::json& result) {
  std::vector<std::pair<int64_t, std::string>> cutoffs;
  for (const auto& [key, value] : result.items()) {
    std::string kind;
    int64_t k = 0;
    if (parse_cutoff(key, kind, k)) cutoffs.emplace_back(2 * k + (kind == "map"), key);
  }
  std::sort(cutoffs.begin(), cutoffs.end());
  std::vector<std::string> out = {"map_all"};
  for (const auto& c : cutoffs) out.push_back(c.second);
  return out;
}

double number_of(const nlohmann::json& result, const std::string& key, const std::string& who) {
  HCMSN_CHECK(result.contains(key), who, " has no \"", key,
              "\"; is it the JSON of hcmsn eval or eval-features?");
  const auto& v = result.at(key);
  // NaN is written as null by the JSON library.
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  HCMSN_CHECK(v.is_number(), who, ": \"", key, "\" is ", v.dump(), ", not a number");
  return v.get<double>();
}

// What must be equal for two results to be comparable: the protocol, the cut-offs, and the
// queries and gallery as far as the JSON describes them (sizes, per-class counts).
struct Fingerprint {
  std::string protocol;
  std::vector<std::string> metrics;
  int64_t num_queries = 0, num_gallery = 0;
  std::map<std::string, std::pair<int64_t, int64_t>> per_class;  // queries, relevant photos
  bool has_per_class = false;
};

Fingerprint fingerprint_of(const nlohmann::json& r, const std::string& who) {
  HCMSN_CHECK(r.is_object(), who, " is not a JSON object of results");
  Fingerprint f;
  f.protocol = r.value("protocol", std::string("?"));
  f.metrics = metrics_of(r);
  f.num_queries = static_cast<int64_t>(number_of(r, "num_queries", who));
  f.num_gallery = static_cast<int64_t>(number_of(r, "num_gallery", who));
  if (r.contains("per_class") && r["per_class"].is_object()) {
    f.has_per_class = true;
    for (const auto& [name, c] : r["per_class"].items()) {
      f.per_class[name] = {c.value("num_queries", int64_t{-1}),
                           c.value("num_relevant", int64_t{-1})};
    }
  }
  return f;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "" when comparable, else what differs.
std::string difference(const Fingerprint& a, const Fingerprint& b) {
  if (a.protocol != b.protocol)
    return fmt::format("protocol {} against {}", b.protocol, a.protocol);
  if (a.metrics != b.metrics) {
    return fmt::format("metrics [{}] against [{}]", joined(b.metrics), joined(a.metrics));
  }
  if (a.num_queries != b.num_queries || a.num_gallery != b.num_gallery) {
    return fmt::format("{} queries against {} photos, where the first has {} against {}",
                       b.num_queries, b.num_gallery, a.num_queries, a.num_gallery);
  }
  if (a.has_per_class && b.has_per_class) {
    for (const auto& [name, counts] : a.per_class) {
      const auto it = b.per_class.find(name);
      if (it == b.per_class.end()) return fmt::format("no queries of class '{}'", name);
      if (it->second != counts) {
        return fmt::format(
            "class '{}' with {} queries and {} relevant photos, where the first has "
            "{} and {}",
            name, it->second.first, it->second.second, counts.first, counts.second);
      }
    }
    for (const auto& [name, counts] : b.per_class) {
      if (!a.per_class.count(name)) return fmt::format("queries of class '{}' as well", name);
    }
  }
  return "";
}

}  // namespace

MetricStats metric_stats(const std::vector<double>& values) {
  HCMSN_CHECK(!values.empty(), "no values to summarise");
  MetricStats s;
  s.values = values;
  double sum = 0.0;
  for (double v : values) sum += v;
  const double n = static_cast<double>(values.size());
  s.mean = sum / n;
  double squares = 0.0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = values.size() > 1 ? std::sqrt(squares / (n - 1.0)) : 0.0;
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  if (s.min == s.max) {
    // Equal values (e.g. Prec@K of a small gallery): no rounding noise in the mean or the std.
    s.mean = s.min;
    s.std = 0.0;
  }
  return s;
}

EvaluationSummary summarise_evaluation(const std::string& name,
                                       const std::vector<RowResults>& rows) {
  HCMSN_CHECK(!rows.empty(), "evaluation '", name, "' has no results to summarise");
  EvaluationSummary out;
  out.name = name;
  const auto who = [&](const RowResults& row, size_t i) {
    return fmt::format("evaluation '{}', {} '{}'{}", name, row.baseline ? "baseline" : "variant",
                       row.name, row.baseline ? "" : " " + row.labels.at(i));
  };
  HCMSN_CHECK(!rows[0].results.empty(), "evaluation '", name, "': '", rows[0].name,
              "' has no results");
  const nlohmann::json& first = rows[0].results[0];
  const std::string first_who = who(rows[0], 0);
  const Fingerprint reference = fingerprint_of(first, first_who);
  out.protocol = reference.protocol;
  out.protocol_description = first.value("protocol_description", std::string());
  out.num_queries = reference.num_queries;
  out.num_gallery = reference.num_gallery;
  out.metrics = reference.metrics;
  for (const RowResults& row : rows) {
    HCMSN_CHECK(!row.results.empty(), "evaluation '", name, "': '", row.name, "' has no results");
    HCMSN_CHECK(row.labels.size() == row.results.size(), "evaluation '", name, "': '", row.name,
                "' has ", row.labels.size(), " labels for ", row.results.size(), " results");
    SummaryRow summary{row.name, row.baseline, row.labels, {}};
    for (size_t i = 0; i < row.results.size(); ++i) {
      const std::string d = difference(reference, fingerprint_of(row.results[i], who(row, i)));
      HCMSN_CHECK(d.empty(), who(row, i), " ranks ", d, " (", first_who,
                  "): the rows of a table must rank the same queries against the same gallery "
                  "under one protocol; give the baseline the evaluation's data, classes and "
                  "--gallery, and every variant the same data and split");
    }
    for (const std::string& metric : out.metrics) {
      std::vector<double> values;
      for (size_t i = 0; i < row.results.size(); ++i) {
        values.push_back(number_of(row.results[i], metric, who(row, i)));
      }
      summary.metrics.push_back(metric_stats(values));
    }
    out.rows.push_back(std::move(summary));
  }
  return out;
}

nlohmann::ordered_json to_json(const ExperimentSummary& summary) {
  nlohmann::ordered_json j;
  j["title"] = summary.title;
  j["checkpoint"] = summary.checkpoint;
  j["seeds"] = summary.seeds;
  nlohmann::ordered_json evaluations = nlohmann::ordered_json::object();
  for (const auto& e : summary.evaluations) {
    nlohmann::ordered_json ej;
    ej["protocol"] = e.protocol;
    ej["protocol_description"] = e.protocol_description;
    ej["num_queries"] = e.num_queries;
    ej["num_gallery"] = e.num_gallery;
    ej["metrics"] = e.metrics;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    const auto comparisons = compare_with_baseline(e);
    for (size_t r = 0; r < e.rows.size(); ++r) {
      const SummaryRow& row = e.rows[r];
      nlohmann::ordered_json rj;
      rj["name"] = row.name;
      rj["kind"] = row.baseline ? "baseline" : "variant";
      rj["labels"] = row.labels;
      nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
      for (size_t m = 0; m < e.metrics.size(); ++m) {
        const MetricStats& s = row.metrics[m];
        metrics[e.metrics[m]] = {
            {"mean", s.mean}, {"std", s.std}, {"min", s.min}, {"max", s.max}, {"values", s.values}};
      }
      rj["metrics"] = metrics;
      if (const auto& c = comparisons[r]) {
        rj["versus"] = {{"baseline", c->baseline},       {"metric", c->metric},
                        {"difference", c->difference},   {"spread", c->spread},
                        {"seeds_ahead", c->seeds_ahead}, {"seeds", c->seeds},
                        {"verdict", c->verdict}};
      }
      rows.push_back(rj);
    }
    ej["rows"] = rows;
    evaluations[e.name] = ej;
  }
  j["evaluations"] = evaluations;
  return j;
}

std::string format_cell(const MetricStats& s) {
  if (s.values.size() < 2) return fmt::format("{:.4f}", s.mean);
  return fmt::format("{:.4f} ± {:.4f} ({:.4f}–{:.4f})", s.mean, s.std, s.min, s.max);
}

std::string metric_label(const std::string& metric) {
  if (metric == "map_all") return "mAP@all";
  std::string kind;
  int64_t k = 0;
  if (parse_cutoff(metric, kind, k)) return fmt::format("{}@{}", kind == "prec" ? "P" : "mAP", k);
  return metric;
}

std::string to_markdown(const ExperimentSummary& summary) {
  std::string out =
      fmt::format("# {}\n\n", summary.title.empty() ? "hcmsn experiment" : summary.title);
  std::vector<std::string> seeds;
  for (uint64_t s : summary.seeds) seeds.push_back(std::to_string(s));
  out += fmt::format(
      "Checkpoint: {}. Seeds: {}. Variant cells: mean ± sample std (min–max) over the seeds; "
      "baselines (untrained features) have one value.\n",
      summary.checkpoint, joined(seeds));
  out += comparison_markdown(summary);
  for (const auto& e : summary.evaluations) {
    out += fmt::format("\n## {}\n\nProtocol: **{}**. {} sketch queries, gallery of {} photos.\n",
                       e.name, e.protocol, e.num_queries, e.num_gallery);
    if (!e.protocol_description.empty()) out += e.protocol_description + "\n";
    out += fmt::format("\n| protocol: {} |", e.protocol);
    std::string rule = "|---|";
    for (const auto& m : e.metrics) {
      out += " " + metric_label(m) + " |";
      rule += "---:|";
    }
    out += " results |\n" + rule + "---:|\n";
    for (const auto& row : e.rows) {
      out += "| " + row.name + (row.baseline ? " (baseline)" : "") + " |";
      for (const auto& s : row.metrics) out += " " + format_cell(s) + " |";
      out += fmt::format(" {} |\n", row.labels.size());
    }
  }
  return out;
}

}  // namespace hcmsn::experiment
