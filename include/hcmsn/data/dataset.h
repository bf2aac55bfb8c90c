// A benchmark dataset on disk: labelled sketch and photo items gathered from one or more sources,
// restricted to a class set with a seen/unseen split. Nothing is decoded here; an item is a file
// (or one drawing of a QuickDraw .ndjson file) and its class.
//
// Sources (each gives items of one modality):
//   folders  DIR/<class>/<file>, <file> ending in .png/.jpg/.jpeg/.bmp (any case). Hidden entries,
//            other files and nested folders are skipped and counted. Item ids are
//            "<DIR's name>/<class>/<file>" ("png_ready/ant/278.png" for a layout folder: the id
//            is relative to the layout's ROOT, as in the official lists).
//   list     `relative/path label` lines (SAKE / ZSE-SBIR lists), split at the LAST space (paths
//            may hold spaces); `label` is a non-negative integer; paths are relative to `root`.
//            With a class map (`name id` lines, split at the last space) the class is the map's
//            name for the label; without one it is the name of the path's parent folder and the
//            label is ignored. Blank lines are skipped; any other malformed line, or a label the
//            map lacks, is an error naming the file and the line. Listed files that do not exist
//            are counted and listed as missing, never silently dropped. Item id = the listed path.
//   ndjson   DIR/<word>.ndjson, QuickDraw simplified drawings, one per line: every non-blank
//            line is an item with `record` = its 0-based line number; the class is the word.
//            Item id = "<DIR's name>/<word>.ndjson#<record>". Strokes are not parsed here.
//
// Named layouts (DatasetSpec::layout), under ROOT (sketch folder, photo folder):
//   sketchy    256x256/sketch/tx_000000000000_ready/<class>/, 256x256/photo/tx_000000000000_ready/
//   tuberlin   png_ready/<class>/, ImageResized_ready/<class>/
//   quickdraw  sketches/<class>/, images/<class>/
//   generic    sketch/<class>/, photo/<class>/
// A modality given a list file (sketch_list / photo_list) reads the list, relative to ROOT,
// instead of the folder. Extra folder / ndjson sources add to the layout (or stand alone).
//
// Classes. With a standard split (DatasetSpec::split) the class set is the split's classes in
// their original spelling, seen first, each part in the split's id order. A source's class is
// matched by class_key (class_name.h), then through the split's QuickDraw-word column (so the
// QuickDraw file "The Eiffel Tower" and the TU-Berlin folder "motorbike" find QuickDraw-Ext's
// "eiffel tower" and "motorcycle"). Without a split the class set is every class the sources
// hold, joined by key, spelled as the first source (in spec order) spells it, sorted by that
// name; the unseen classes are those of DatasetSpec::unseen_file (matched by key; unknown names
// are an error listing them all), the rest are seen; without an unseen file every class is seen.
// DatasetSpec::keep_out_of_split adds the classes outside a split as extra seen classes.
// Items whose class is outside the class set are counted per source and class, never dropped
// silently. Two items with the same id are an error.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hcmsn::data {

struct DatasetItem {
  std::string path;          // absolute path of the image file or the .ndjson file
  int64_t record = -1;       // for a QuickDraw .ndjson file: the 0-based line; -1 for an image
  std::string id;            // unique within the dataset (see the sources above)
  std::string class_name;    // the canonical class name (the split's spelling when there is one)
  int64_t class_index = -1;  // index into Dataset::class_names
  int64_t modality = 0;      // model::kSketch (0) or model::kPhoto (1)
  int64_t view = 0;          // > 0: an augmented view of the item (features::photo_view_items)
};

/// What one source gave.
struct SourceReport {
  std::string kind;  // "folders", "list" or "ndjson"
  std::string path;  // the folder or list file
  int64_t modality = 0;
  int64_t items = 0;  // items kept (class in the class set, file present)
  /// Listed or found files that do not exist or cannot be read (absolute paths).
  std::vector<std::string> missing;
  /// Source class spelling → number of items whose class is outside the class set.
  std::map<std::string, int64_t> out_of_split;
  /// Folder entries that are not items: hidden entries, other files, nested folders.
  int64_t skipped_entries = 0;
};

/// What to read. Empty fields are unused. The CLI's flags map one to one onto these fields
/// (apps/hcmsn/dataset_flags.h).
struct DatasetSpec {
  std::string layout;  // "", "generic", "sketchy", "tuberlin" or "quickdraw"
  std::string root;  // the layout's ROOT; also the root of list files (default: the list's folder)
  std::vector<std::string> sketch_dirs, photo_dirs;  // extra class-folder sources
  std::vector<std::string> ndjson_dirs;              // extra QuickDraw sketch sources
  std::string sketch_list, photo_list;               // `path label` lists
  std::string class_map;    // `name id` map for both lists; without it: the parent folder
  std::string split;        // a standard split name (standard_splits.h)
  std::string unseen_file;  // unseen class names, one per line (instead of a split)
  /// With a split: keep the source classes the split does not know as extra seen classes (after
  /// the split's seen ones, sorted by name) instead of counting them out of the split. They can
  /// only ever be seen: a class that matches an unseen one by key or QuickDraw word is that class.
  bool keep_out_of_split = false;
};

/// The spec as JSON (every field; a run's config.json records the data it trains on) and back.
/// from_json throws hcmsn::Error naming a field of the wrong type.
nlohmann::json to_json(const DatasetSpec& spec);
DatasetSpec dataset_spec_from_json(const nlohmann::json& json);

struct Dataset {
  /// Sorted by modality (sketches first), class index, then id (byte order).
  std::vector<DatasetItem> items;
  std::vector<std::string> class_names;  // all classes: seen ones first when there is a split
  std::vector<std::string> seen_classes;
  std::vector<std::string> unseen_classes;
  std::string split;  // the standard split's name, or ""
  std::vector<SourceReport> sources;
};

/// Builds the dataset the spec describes. Throws hcmsn::Error on a bad spec (unknown layout or
/// split, both a split and an unseen file, no source at all), a missing source folder, list or
/// map, a malformed list or map line (naming file and line), unknown unseen classes, duplicate
/// item ids, or when no item at all is left.
Dataset build_dataset(const DatasetSpec& spec);

/// The names of the layouts build_dataset accepts, "generic" first.
const std::vector<std::string>& dataset_layout_names();

struct ClassCounts {
  std::string name;
  bool unseen = false;
  int64_t sketches = 0;
  int64_t photos = 0;
};

struct DatasetSummary {
  std::string split;
  int64_t num_seen_classes = 0, num_unseen_classes = 0;
  /// counts[u][m]: items of seen (u = 0) or unseen (u = 1) classes and modality m.
  int64_t counts[2][2] = {{0, 0}, {0, 0}};
  std::vector<ClassCounts> per_class;         // in class_names order
  std::vector<std::string> lacking_sketches;  // classes with photos but no sketch
  std::vector<std::string> lacking_photos;    // classes with sketches but no photo
  std::vector<std::string> empty_classes;     // classes with no item at all
  std::vector<SourceReport> sources;
  int64_t num_missing = 0, num_out_of_split = 0;

  nlohmann::json to_json() const;
  /// A human-readable report: totals table, per-source lines, classes lacking a modality,
  /// missing files (the first few of each source) and out-of-split classes.
  std::string to_table() const;
};

DatasetSummary summarize(const Dataset& dataset);

}  // namespace hcmsn::data
