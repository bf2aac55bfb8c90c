#include "hcmsn/metrics/report.h"

#include <fmt/format.h>

namespace hcmsn::metrics {
namespace {

void add_k_metrics(nlohmann::json& j, const std::vector<int64_t>& ks,
                   const std::vector<double>& prec, const std::vector<double>& map) {
  for (size_t i = 0; i < ks.size(); ++i) {
    j["prec@" + std::to_string(ks[i])] = prec[i];
    j["map@" + std::to_string(ks[i])] = map[i];
  }
}

}  // namespace

nlohmann::json to_json(const RetrievalResult& r) {
  nlohmann::json j;
  j["map_all"] = r.map_all;
  add_k_metrics(j, r.ks, r.prec_at, r.map_at);
  j["num_queries"] = r.num_queries;
  j["num_gallery"] = r.num_gallery;
  j["num_queries_without_relevant"] = r.num_queries_without_relevant;
  j["empty_queries"] = to_string(r.empty_queries);
  j["protocol"] = r.protocol.name();
  j["protocol_description"] = r.protocol.description();
  j["protocol_source"] = r.protocol.source();
  j["metric"] = r.metric;
  j["curvature"] = r.curvature;
  j["seconds"] = r.seconds;
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& c : r.per_class) {
    nlohmann::json cj;
    cj["num_queries"] = c.num_queries;
    cj["num_relevant"] = c.num_relevant;
    cj["map_all"] = c.map_all;
    add_k_metrics(cj, r.ks, c.prec_at, c.map_at);
    classes[c.name] = cj;
  }
  j["per_class"] = classes;
  return j;
}

std::string format_table(const RetrievalResult& r, bool per_class) {
  std::string out;
  out += fmt::format("protocol: {} | metric: {}", r.protocol.name(), r.metric);
  if (r.metric == "poincare") out += fmt::format(" (c = {:g})", r.curvature);
  out += fmt::format(" | {} queries x {} gallery | {:.2f} s\n", r.num_queries, r.num_gallery,
                     r.seconds);
  out += fmt::format("rules: {}\n", r.protocol.description());
  if (!r.protocol.source().empty()) out += fmt::format("source: {}\n", r.protocol.source());
  std::string header = fmt::format("{:<24}{:>10}", "", "mAP@all");
  for (int64_t k : r.ks)
    header += fmt::format("{:>10}{:>10}", fmt::format("P@{}", k), fmt::format("mAP@{}", k));
  out += header + "\n";
  auto row = [&](const std::string& name, double map_all, const std::vector<double>& prec,
                 const std::vector<double>& map) {
    std::string line = fmt::format("{:<24}{:>10.4f}", name.substr(0, 23), map_all);
    for (size_t i = 0; i < r.ks.size(); ++i)
      line += fmt::format("{:>10.4f}{:>10.4f}", prec[i], map[i]);
    return line + "\n";
  };
  out += row("all", r.map_all, r.prec_at, r.map_at);
  if (per_class) {
    for (const auto& c : r.per_class) out += row(c.name, c.map_all, c.prec_at, c.map_at);
  }
  if (r.num_queries_without_relevant > 0) {
    out += fmt::format("note: {} queries have no relevant gallery item (policy: {})\n",
                       r.num_queries_without_relevant, to_string(r.empty_queries));
  }
  return out;
}

}  // namespace hcmsn::metrics
