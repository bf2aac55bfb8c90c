// summarize() and the two renderings of DatasetSummary (declared in dataset.h).
#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "hcmsn/data/dataset.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/util/check.h"

namespace hcmsn::data {
namespace {

constexpr size_t kListedNames = 12;  // names printed per line of the table before "…"

// "a, b, c, ... (N more)"
std::string short_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kListedNames; ++i) {
    out += (i == 0 ? "" : ", ") + names[i];
  }
  if (names.size() > kListedNames) {
    out += ", ... (" + std::to_string(names.size() - kListedNames) + " more)";
  }
  return out;
}

std::string row(const std::string& label, int64_t sketches, int64_t photos) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-24s %10lld %10lld\n", label.c_str(),
                static_cast<long long>(sketches), static_cast<long long>(photos));
  return buf;
}

}  // namespace

DatasetSummary summarize(const Dataset& dataset) {
  DatasetSummary s;
  s.split = dataset.split;
  s.num_seen_classes = static_cast<int64_t>(dataset.seen_classes.size());
  s.num_unseen_classes = static_cast<int64_t>(dataset.unseen_classes.size());
  for (const auto& name : dataset.class_names) {
    ClassCounts c;
    c.name = name;
    c.unseen = std::find(dataset.unseen_classes.begin(), dataset.unseen_classes.end(), name) !=
               dataset.unseen_classes.end();
    s.per_class.push_back(c);
  }
  for (const auto& item : dataset.items) {
    HCMSN_ASSERT(
        item.class_index >= 0 && item.class_index < static_cast<int64_t>(s.per_class.size()),
        "item ", item.id, " has class index ", item.class_index);
    HCMSN_ASSERT(item.modality == model::kSketch || item.modality == model::kPhoto, "item ",
                 item.id, " has modality ", item.modality);
    auto& c = s.per_class[static_cast<size_t>(item.class_index)];
    (item.modality == model::kSketch ? c.sketches : c.photos) += 1;
    s.counts[c.unseen ? 1 : 0][item.modality] += 1;
  }
  for (const auto& c : s.per_class) {
    if (c.sketches == 0 && c.photos == 0) {
      s.empty_classes.push_back(c.name);
    } else if (c.sketches == 0) {
      s.lacking_sketches.push_back(c.name);
    } else if (c.photos == 0) {
      s.lacking_photos.push_back(c.name);
    }
  }
  s.sources = dataset.sources;
  for (const auto& src : s.sources) {
    s.num_missing += static_cast<int64_t>(src.missing.size());
    for (const auto& kv : src.out_of_split) s.num_out_of_split += kv.second;
  }
  return s;
}

nlohmann::json DatasetSummary::to_json() const {
  using nlohmann::json;
  json j;
  j["split"] = split;
  j["classes"] = {{"seen", num_seen_classes}, {"unseen", num_unseen_classes}};
  j["counts"] = {{"seen", {{"sketch", counts[0][0]}, {"photo", counts[0][1]}}},
                 {"unseen", {{"sketch", counts[1][0]}, {"photo", counts[1][1]}}}};
  json classes = json::array();
  for (const auto& c : per_class) {
    classes.push_back(
        {{"name", c.name}, {"unseen", c.unseen}, {"sketches", c.sketches}, {"photos", c.photos}});
  }
  j["per_class"] = std::move(classes);
  j["lacking_sketches"] = lacking_sketches;
  j["lacking_photos"] = lacking_photos;
  j["empty_classes"] = empty_classes;
  json srcs = json::array();
  for (const auto& src : sources) {
    srcs.push_back({{"kind", src.kind},
                    {"path", src.path},
                    {"modality", model::modality_name(src.modality)},
                    {"items", src.items},
                    {"missing", src.missing},
                    {"out_of_split", src.out_of_split},
                    {"skipped_entries", src.skipped_entries}});
  }
  j["sources"] = std::move(srcs);
  j["missing"] = num_missing;
  j["out_of_split"] = num_out_of_split;
  return j;
}

std::string DatasetSummary::to_table() const {
  std::ostringstream out;
  out << "split: " << (split.empty() ? "(none)" : split) << "; "
      << num_seen_classes + num_unseen_classes << " classes (" << num_seen_classes << " seen, "
      << num_unseen_classes << " unseen)\n";
  char head[128];
  std::snprintf(head, sizeof head, "  %-24s %10s %10s\n", "", "sketches", "photos");
  out << head;
  out << row("seen classes", counts[0][0], counts[0][1]);
  out << row("unseen classes", counts[1][0], counts[1][1]);
  out << row("total", counts[0][0] + counts[1][0], counts[0][1] + counts[1][1]);
  out << "unseen classes:\n";
  for (const auto& c : per_class) {
    if (c.unseen) out << row("  " + c.name, c.sketches, c.photos);
  }
  out << "sources:\n";
  for (const auto& src : sources) {
    int64_t outside = 0;
    for (const auto& kv : src.out_of_split) outside += kv.second;
    out << "  " << model::modality_name(src.modality) << " " << src.kind << " " << src.path << ": "
        << src.items << " items, " << src.missing.size() << " missing, " << outside
        << " out of the class set (" << src.out_of_split.size() << " classes), "
        << src.skipped_entries << " skipped entries\n";
    if (!src.missing.empty()) out << "    missing: " << short_list(src.missing) << "\n";
    if (!src.out_of_split.empty()) {
      std::vector<std::string> names;
      for (const auto& kv : src.out_of_split) names.push_back(kv.first);
      out << "    outside the class set: " << short_list(names) << "\n";
    }
  }
  if (!lacking_photos.empty()) {
    out << "classes with sketches but no photo (" << lacking_photos.size()
        << "): " << short_list(lacking_photos) << "\n";
  }
  if (!lacking_sketches.empty()) {
    out << "classes with photos but no sketch (" << lacking_sketches.size()
        << "): " << short_list(lacking_sketches) << "\n";
  }
  if (!empty_classes.empty()) {
    out << "classes with no item (" << empty_classes.size() << "): " << short_list(empty_classes)
        << "\n";
  }
  out << "missing files: " << num_missing << "; items outside the class set: " << num_out_of_split
      << "\n";
  return out.str();
}

}  // namespace hcmsn::data
