#include "hcmsn/data/dataset.h"

#include "folder_listing.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hcmsn/data/class_name.h"
#include "hcmsn/data/image_folder.h"
#include "hcmsn/data/standard_splits.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/util/check.h"

namespace hcmsn::data {
namespace {

namespace fs = std::filesystem;

// An item before its class is resolved: `source_class` is the source's own spelling.
struct RawItem {
  std::string path;
  int64_t record = -1;
  std::string id;
  std::string source_class;
};

struct Source {
  SourceReport report;
  std::string root;       // list: the root of its paths
  std::string id_prefix;  // folders / ndjson: what ids start with
  std::vector<RawItem> raw;
};

struct LayoutDirs {
  const char* name;
  const char* sketch;
  const char* photo;
};

const LayoutDirs kLayouts[] = {
    {"generic", "sketch", "photo"},
    {"sketchy", "256x256/sketch/tx_000000000000_ready", "256x256/photo/tx_000000000000_ready"},
    {"tuberlin", "png_ready", "ImageResized_ready"},
    {"quickdraw", "sketches", "images"},
};

bool is_hidden(const std::string& file_name) {
  return !file_name.empty() && file_name[0] == '.';
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string absolute_path(const std::string& p) {
  return fs::absolute(fs::path(p)).lexically_normal().string();
}

// The last component of a folder path ("a/b/" → "b").
std::string folder_name(const std::string& dir) {
  fs::path p = fs::absolute(fs::path(dir)).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

void require_folder(const std::string& dir, const std::string& what) {
  std::error_code ec;
  HCMSN_CHECK(fs::is_directory(dir, ec), what, " '", dir,
              "' does not exist or is not a folder; check the path");
}

// DIR/<class>/<image file>.
void scan_folders(Source& s) {
  const std::string& dir = s.report.path;
  require_folder(dir, std::string(model::modality_name(s.report.modality)) + " folder");
  for (const auto& cls : internal::sorted_entries(dir)) {
    const std::string cname = cls.path().filename().string();
    std::error_code ec;
    if (is_hidden(cname) || !cls.is_directory(ec)) {
      ++s.report.skipped_entries;
      continue;
    }
    for (const auto& f : internal::sorted_entries(cls.path())) {
      const std::string fname = f.path().filename().string();
      if (is_hidden(fname) || f.is_directory(ec) || !is_image_file_name(fname)) {
        ++s.report.skipped_entries;
        continue;
      }
      const std::string path = absolute_path(f.path().string());
      if (!f.is_regular_file(ec)) {  // a broken link, a device: named like an image, unreadable
        s.report.missing.push_back(path);
        continue;
      }
      s.raw.push_back({path, -1, s.id_prefix + "/" + cname + "/" + fname, cname});
    }
  }
}

// DIR/<word>.ndjson, one drawing per non-blank line.
void scan_ndjson(Source& s) {
  const std::string& dir = s.report.path;
  require_folder(dir, "ndjson folder");
  const std::string ext = ".ndjson";
  for (const auto& f : internal::sorted_entries(dir)) {
    const std::string fname = f.path().filename().string();
    std::error_code ec;
    const bool named =
        fname.size() > ext.size() && fname.compare(fname.size() - ext.size(), ext.size(), ext) == 0;
    if (is_hidden(fname) || f.is_directory(ec) || !named) {
      ++s.report.skipped_entries;
      continue;
    }
    const std::string path = absolute_path(f.path().string());
    std::ifstream in(path, std::ios::binary);
    if (!f.is_regular_file(ec) || !in) {
      s.report.missing.push_back(path);
      continue;
    }
    const std::string word = fname.substr(0, fname.size() - ext.size());
    int64_t line_no = 0;
    for (std::string line; std::getline(in, line); ++line_no) {
      if (trim(line).empty()) continue;
      s.raw.push_back(
          {path, line_no, s.id_prefix + "/" + fname + "#" + std::to_string(line_no), word});
    }
    if (in.bad()) s.report.missing.push_back(path);  // a read error part-way
  }
}

bool parse_label(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 15) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// Calls fn(line_number, "text before the last space", label) for every non-blank line.
template <typename Fn>
void for_each_labelled_line(const std::string& path, const std::string& what,
                            const std::string& expected, Fn fn) {
  std::ifstream in(path, std::ios::binary);
  HCMSN_CHECK(in, "cannot open ", what, " '", path, "'; check the path");
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    const std::string t = trim(line);
    if (t.empty()) continue;
    const auto sp = t.rfind(' ');
    int64_t label = 0;
    HCMSN_CHECK(sp != std::string::npos && sp > 0 && parse_label(t.substr(sp + 1), label), path,
                ":", n, ": malformed line '", t, "'; expected '", expected,
                "' (split at the last space, the id a non-negative integer)");
    fn(n, trim(t.substr(0, sp)), label);
  }
  HCMSN_CHECK(!in.bad(), "cannot read ", what, " '", path, "'");
}

std::map<int64_t, std::string> read_class_map(const std::string& path) {
  std::map<int64_t, std::string> map;
  for_each_labelled_line(path, "class map", "name id",
                         [&](int64_t n, const std::string& name, int64_t id) {
                           HCMSN_CHECK(!name.empty(), path, ":", n, ": empty class name");
                           HCMSN_CHECK(map.emplace(id, name).second, path, ":", n, ": id ", id,
                                       " appears twice; every class needs its own id");
                         });
  HCMSN_CHECK(!map.empty(), "class map '", path, "' holds no class");
  return map;
}

void read_list(Source& s, const std::map<int64_t, std::string>* map, const std::string& map_path) {
  const std::string& list = s.report.path;
  for_each_labelled_line(
      list, "list file", "relative/path label",
      [&](int64_t n, const std::string& rel, int64_t label) {
        std::string cname;
        if (map != nullptr) {
          const auto it = map->find(label);
          HCMSN_CHECK(it != map->end(), list, ":", n, ": label ", label,
                      " is not in the class map '", map_path, "'; is it the map of this list?");
          cname = it->second;
        } else {
          cname = fs::path(rel).parent_path().filename().string();
          HCMSN_CHECK(!cname.empty(), list, ":", n, ": '", rel,
                      "' has no parent folder to take the class from; give a class map");
        }
        const std::string path = (fs::path(s.root) / rel).lexically_normal().string();
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) {
          s.report.missing.push_back(path);
          return;
        }
        s.raw.push_back({path, -1, rel, cname});
      });
}

Source make_source(const std::string& kind, const std::string& path, int64_t modality) {
  Source s;
  s.report.kind = kind;
  s.report.path = absolute_path(path);
  s.report.modality = modality;
  s.id_prefix = folder_name(path);
  return s;
}

// The sources of a spec, in spec order: layout sketch, layout photo, then the extra sources.
std::vector<Source> plan_sources(const DatasetSpec& spec) {
  std::vector<Source> out;
  const bool lists = !spec.sketch_list.empty() || !spec.photo_list.empty();
  const std::string list_root =
      spec.root.empty() ? "" : absolute_path(spec.root);  // "" → each list's own folder
  auto add_list = [&](const std::string& list, int64_t modality) {
    Source s = make_source("list", list, modality);
    s.root = !list_root.empty() ? list_root : fs::path(s.report.path).parent_path().string();
    out.push_back(std::move(s));
  };
  if (!spec.layout.empty()) {
    const LayoutDirs* layout = nullptr;
    for (const auto& l : kLayouts) {
      if (spec.layout == l.name) layout = &l;
    }
    std::string valid;
    for (const auto& n : dataset_layout_names()) valid += (valid.empty() ? "" : ", ") + n;
    HCMSN_CHECK(layout != nullptr, "unknown layout '", spec.layout, "'; the layouts are ", valid);
    HCMSN_CHECK(!spec.root.empty(), "the ", spec.layout, " layout needs its ROOT folder (--root)");
    HCMSN_CHECK(spec.layout != "generic" || !lists,
                "the generic layout reads class folders only; drop the list files or use --layout "
                "sketchy, tuberlin or quickdraw");
    require_folder(spec.root, "dataset root");
    const std::pair<int64_t, const char*> parts[] = {{model::kSketch, layout->sketch},
                                                     {model::kPhoto, layout->photo}};
    for (const auto& [modality, sub] : parts) {
      const std::string& list = modality == model::kSketch ? spec.sketch_list : spec.photo_list;
      if (!list.empty()) {
        add_list(list, modality);
      } else {
        Source s = make_source("folders", (fs::path(spec.root) / sub).string(), modality);
        s.id_prefix = sub;  // ids relative to ROOT, as in the official lists
        out.push_back(std::move(s));
      }
    }
  } else {
    if (!spec.sketch_list.empty()) add_list(spec.sketch_list, model::kSketch);
    if (!spec.photo_list.empty()) add_list(spec.photo_list, model::kPhoto);
  }
  for (const auto& d : spec.sketch_dirs) out.push_back(make_source("folders", d, model::kSketch));
  for (const auto& d : spec.photo_dirs) out.push_back(make_source("folders", d, model::kPhoto));
  for (const auto& d : spec.ndjson_dirs) out.push_back(make_source("ndjson", d, model::kSketch));
  HCMSN_CHECK(!out.empty(),
              "no data source: give --layout with --root, or --sketch-dir / --photo-dir / "
              "--ndjson-dir folders, or --sketch-list / --photo-list files");
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

// Maps source spellings to class indices.
class ClassResolver {
 public:
  void add(const std::string& name, int64_t index) { by_key_.emplace(class_key(name), index); }
  void add_alias(const std::string& name, int64_t index) { alias_.emplace(class_key(name), index); }
  int64_t find(const std::string& source_class) const {
    const std::string key = class_key(source_class);
    if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;
    if (auto it = alias_.find(key); it != alias_.end()) return it->second;
    return -1;
  }

 private:
  std::unordered_map<std::string, int64_t> by_key_, alias_;
};

// Class set from a standard split: seen then `extra_seen` then unseen, each in its order.
ClassResolver classes_from_split(const StandardSplit& split,
                                 const std::vector<std::string>& extra_seen, Dataset& d) {
  ClassResolver r;
  d.split = split.name;
  d.seen_classes = split.seen_names();
  d.seen_classes.insert(d.seen_classes.end(), extra_seen.begin(), extra_seen.end());
  d.unseen_classes = split.unseen_names();
  d.class_names = d.seen_classes;
  d.class_names.insert(d.class_names.end(), d.unseen_classes.begin(), d.unseen_classes.end());
  std::vector<const StandardClass*> all;
  for (const auto& c : split.seen) all.push_back(&c);
  const auto num_seen = static_cast<int64_t>(all.size());
  for (size_t i = 0; i < extra_seen.size(); ++i) {
    r.add(extra_seen[i], num_seen + static_cast<int64_t>(i));
  }
  const auto unseen_start = num_seen + static_cast<int64_t>(extra_seen.size());
  for (const auto& c : split.unseen) all.push_back(&c);
  const auto index_of = [&](size_t i) {
    const auto k = static_cast<int64_t>(i);
    return k < num_seen ? k : unseen_start + (k - num_seen);
  };
  for (size_t i = 0; i < all.size(); ++i) r.add(all[i]->name, index_of(i));
  for (size_t i = 0; i < all.size(); ++i) {
    if (!all[i]->ndjson_word.empty()) r.add_alias(all[i]->ndjson_word, index_of(i));
  }
  return r;
}

// The source classes a split does not know (matched as classes_from_split matches), each key
// once in its first spelling, sorted by name: the extra seen classes of keep_out_of_split.
std::vector<std::string> out_of_split_classes(const StandardSplit& split,
                                              const std::vector<Source>& sources) {
  Dataset scratch;
  const ClassResolver known = classes_from_split(split, {}, scratch);
  std::map<std::string, std::string> spelling;  // key → first spelling
  for (const auto& s : sources) {
    for (const auto& r : s.raw) {
      if (known.find(r.source_class) < 0) {
        spelling.emplace(class_key(r.source_class), r.source_class);
      }
    }
  }
  std::vector<std::string> names;
  for (const auto& kv : spelling) names.push_back(kv.second);
  std::sort(names.begin(), names.end());
  return names;
}

// Class set from the sources themselves; unseen classes from a list (or none).
ClassResolver classes_from_sources(const std::vector<Source>& sources,
                                   const std::string& unseen_file, Dataset& d) {
  std::map<std::string, std::string> spelling;  // key → first spelling
  for (const auto& s : sources) {
    for (const auto& r : s.raw) spelling.emplace(class_key(r.source_class), r.source_class);
  }
  for (const auto& kv : spelling) d.class_names.push_back(kv.second);
  std::sort(d.class_names.begin(), d.class_names.end());
  ClassResolver r;
  std::unordered_map<std::string, int64_t> index;
  for (size_t i = 0; i < d.class_names.size(); ++i) {
    r.add(d.class_names[i], static_cast<int64_t>(i));
    index.emplace(class_key(d.class_names[i]), static_cast<int64_t>(i));
  }
  std::set<int64_t> unseen;
  if (!unseen_file.empty()) {
    std::vector<std::string> unknown;
    for (const auto& name : io::read_labels(unseen_file)) {
      const auto it = index.find(class_key(name));
      if (it == index.end()) {
        unknown.push_back(name);
        continue;
      }
      HCMSN_CHECK(unseen.insert(it->second).second, "unseen list '", unseen_file, "' names '", name,
                  "' twice (class names are compared by their normalised key)");
      d.unseen_classes.push_back(d.class_names[it->second]);
    }
    HCMSN_CHECK(unknown.empty(), "unseen list '", unseen_file, "' names ", unknown.size(),
                " class(es) that no source holds: ", join(unknown),
                "; check the spelling or the sources");
  }
  for (size_t i = 0; i < d.class_names.size(); ++i) {
    if (unseen.count(static_cast<int64_t>(i)) == 0) d.seen_classes.push_back(d.class_names[i]);
  }
  return r;
}

}  // namespace

const std::vector<std::string>& dataset_layout_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& l : kLayouts) out.push_back(l.name);
    return out;
  }();
  return names;
}

nlohmann::json to_json(const DatasetSpec& spec) {
  return {{"layout", spec.layout},
          {"root", spec.root},
          {"sketch_dirs", spec.sketch_dirs},
          {"photo_dirs", spec.photo_dirs},
          {"ndjson_dirs", spec.ndjson_dirs},
          {"sketch_list", spec.sketch_list},
          {"photo_list", spec.photo_list},
          {"class_map", spec.class_map},
          {"split", spec.split},
          {"unseen_file", spec.unseen_file},
          {"keep_out_of_split", spec.keep_out_of_split}};
}

DatasetSpec dataset_spec_from_json(const nlohmann::json& j) {
  DatasetSpec spec;
  try {
    spec.layout = j.value("layout", std::string());
    spec.root = j.value("root", std::string());
    spec.sketch_dirs = j.value("sketch_dirs", std::vector<std::string>{});
    spec.photo_dirs = j.value("photo_dirs", std::vector<std::string>{});
    spec.ndjson_dirs = j.value("ndjson_dirs", std::vector<std::string>{});
    spec.sketch_list = j.value("sketch_list", std::string());
    spec.photo_list = j.value("photo_list", std::string());
    spec.class_map = j.value("class_map", std::string());
    spec.split = j.value("split", std::string());
    spec.unseen_file = j.value("unseen_file", std::string());
    spec.keep_out_of_split = j.value("keep_out_of_split", false);
  } catch (const nlohmann::json::exception& e) {
    HCMSN_CHECK(false, "malformed dataset description: ", e.what());
  }
  return spec;
}

Dataset build_dataset(const DatasetSpec& spec) {
  HCMSN_CHECK(
      spec.split.empty() || spec.unseen_file.empty(),
      "give either a standard split (--split) or an unseen-class list (--unseen), not both");
  // Check the split name before any scanning: a typo should not cost a folder walk.
  const StandardSplit* split = spec.split.empty() ? nullptr : &standard_split(spec.split);
  std::vector<Source> sources = plan_sources(spec);
  std::optional<std::map<int64_t, std::string>> map;
  if (!spec.class_map.empty()) {
    HCMSN_CHECK(!spec.sketch_list.empty() || !spec.photo_list.empty(),
                "a class map (--class-map) labels list files; give --sketch-list or --photo-list");
    map = read_class_map(spec.class_map);
  }
  for (auto& s : sources) {
    if (s.report.kind == "folders") {
      scan_folders(s);
    } else if (s.report.kind == "ndjson") {
      scan_ndjson(s);
    } else {
      read_list(s, map ? &*map : nullptr, spec.class_map);
    }
  }

  Dataset d;
  HCMSN_CHECK(!spec.keep_out_of_split || split != nullptr,
              "keeping the classes outside a split (--keep-out-of-split) needs --split");
  const ClassResolver resolver =
      split != nullptr
          ? classes_from_split(*split,
                               spec.keep_out_of_split ? out_of_split_classes(*split, sources)
                                                      : std::vector<std::string>{},
                               d)
          : classes_from_sources(sources, spec.unseen_file, d);
  std::unordered_map<std::string, std::string> ids;  // id → source path
  for (auto& s : sources) {
    for (auto& r : s.raw) {
      const int64_t c = resolver.find(r.source_class);
      if (c < 0) {
        ++s.report.out_of_split[r.source_class];
        continue;
      }
      const auto [it, fresh] = ids.emplace(r.id, s.report.path);
      HCMSN_CHECK(fresh, "two items share the id '", r.id, "' (from '", it->second, "' and '",
                  s.report.path, "'); give sources with different folder names");
      d.items.push_back({std::move(r.path), r.record, std::move(r.id),
                         d.class_names[static_cast<size_t>(c)], c, s.report.modality});
      ++s.report.items;
    }
    s.raw.clear();
    d.sources.push_back(std::move(s.report));
  }
  HCMSN_CHECK(!d.items.empty(), "the sources hold no item of the dataset's classes",
              split != nullptr ? " (split " + split->name + ")" : std::string(),
              "; check the paths, the layout and the split");
  std::sort(d.items.begin(), d.items.end(), [](const DatasetItem& a, const DatasetItem& b) {
    if (a.modality != b.modality) return a.modality < b.modality;
    if (a.class_index != b.class_index) return a.class_index < b.class_index;
    return a.id < b.id;
  });
  return d;
}

}  // namespace hcmsn::data
