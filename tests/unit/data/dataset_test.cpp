// Tests of build_dataset and summarize on small trees made here (class folders with hidden and
// foreign entries, list files with spaces, a missing file, malformed lines, class maps, ndjson
// files, unseen lists, standard splits) and on ../shared/data when present (TU-Berlin sketches
// through the official layout, the ZSE-SBIR list samples through their maps).
#include "hcmsn/data/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hcmsn/model/retrieval_feature_net.h"
#include "support/test_support.h"

namespace hcmsn::data {
namespace {

namespace fs = std::filesystem;
using test::contains;
using test::error_of;

void write(const fs::path& path, const std::string& text = "x") {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<std::string> ids_of(const Dataset& d) {
  std::vector<std::string> out;
  for (const auto& item : d.items) out.push_back(item.id);
  return out;
}

const ClassCounts& counts_of(const DatasetSummary& s, const std::string& name) {
  for (const auto& c : s.per_class) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no class " + name);
}

// ROOT/sketch/{Cat, dog house}, ROOT/photo/{cat, dog_house, bird} plus entries to skip.
std::string make_generic_tree() {
  const fs::path root = test::temp_dir("dataset_generic");
  write(root / "sketch/Cat/b.png");
  write(root / "sketch/Cat/a.PNG");
  write(root / "sketch/Cat/.hidden.png");   // skipped: hidden
  write(root / "sketch/Cat/notes.txt");     // skipped: not an image
  write(root / "sketch/Cat/nested/c.png");  // skipped: nested folder
  write(root / "sketch/dog house/1.jpg");
  write(root / "sketch/.ipynb_checkpoints/x.png");  // skipped: hidden folder
  write(root / "sketch/readme.md");                 // skipped: a file in the modality folder
  write(root / "photo/cat/p1.jpeg");
  write(root / "photo/dog_house/p2.bmp");
  write(root / "photo/bird/p3.jpg");
  write(root / "unseen.txt", "Dog-House");  // no final newline, another spelling
  return root.string();
}

TEST(Dataset, GenericLayoutJoinsSpellingsAndSkipsForeignEntries) {
  const std::string root = make_generic_tree();
  DatasetSpec spec;
  spec.layout = "generic";
  spec.root = root;
  spec.unseen_file = root + "/unseen.txt";
  const Dataset d = build_dataset(spec);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"Cat", "bird", "dog house"}));
  EXPECT_EQ(d.unseen_classes, (std::vector<std::string>{"dog house"}));
  EXPECT_EQ(d.seen_classes, (std::vector<std::string>{"Cat", "bird"}));
  EXPECT_EQ(ids_of(d), (std::vector<std::string>{"sketch/Cat/a.PNG", "sketch/Cat/b.png",
                                                 "sketch/dog house/1.jpg", "photo/cat/p1.jpeg",
                                                 "photo/bird/p3.jpg", "photo/dog_house/p2.bmp"}));
  EXPECT_EQ(d.items[3].class_name, "Cat");
  EXPECT_EQ(d.items[3].class_index, 0);
  EXPECT_EQ(d.items[3].modality, model::kPhoto);
  EXPECT_EQ(d.items[0].modality, model::kSketch);
  EXPECT_EQ(d.items[0].record, -1);
  EXPECT_EQ(d.items[0].path, (fs::path(root) / "sketch/Cat/a.PNG").string());
  ASSERT_EQ(d.sources.size(), 2u);
  EXPECT_EQ(d.sources[0].skipped_entries, 5);
  EXPECT_EQ(d.sources[0].items, 3);
  EXPECT_EQ(d.sources[1].items, 3);

  const DatasetSummary s = summarize(d);
  EXPECT_EQ(s.counts[0][0], 2);  // seen sketches
  EXPECT_EQ(s.counts[0][1], 2);  // seen photos
  EXPECT_EQ(s.counts[1][0], 1);
  EXPECT_EQ(s.counts[1][1], 1);
  EXPECT_EQ(s.lacking_sketches, (std::vector<std::string>{"bird"}));
  EXPECT_TRUE(s.lacking_photos.empty());
  EXPECT_TRUE(counts_of(s, "dog house").unseen);
  const auto j = s.to_json();
  EXPECT_EQ(j["counts"]["unseen"]["photo"], 1);
  EXPECT_EQ(j["classes"]["seen"], 2);
  EXPECT_EQ(j["sources"][0]["skipped_entries"], 5);
  const std::string table = s.to_table();
  EXPECT_TRUE(contains(table, "3 classes (2 seen, 1 unseen)")) << table;
  EXPECT_TRUE(contains(table, "classes with photos but no sketch (1): bird")) << table;
}

TEST(Dataset, UnknownUnseenClassesAreAllListed) {
  const std::string root = make_generic_tree();
  write(root + "/bad_unseen.txt", "zebra\nCAT\nyak\n");
  DatasetSpec spec;
  spec.layout = "generic";
  spec.root = root;
  spec.unseen_file = root + "/bad_unseen.txt";
  const std::string msg = error_of([&] { build_dataset(spec); });
  EXPECT_TRUE(contains(msg, "2 class(es) that no source holds: 'zebra', 'yak'")) << msg;
}

TEST(Dataset, ListFileWithSpacesMissingFileAndClassMap) {
  const fs::path root = test::temp_dir("dataset_list");
  write(root / "png_ready/bottle opener/1.png");
  write(root / "png_ready/ant/3.png");
  write(root / "lists/map.txt", "bottle opener 0\nant 1\n");
  write(root / "lists/test.txt",
        "png_ready/bottle opener/1.png 0\r\n"
        "png_ready/bottle opener/2.png 0\r\n"
        "\n"
        "png_ready/ant/3.png 1");
  DatasetSpec spec;
  spec.root = root.string();
  spec.sketch_list = (root / "lists/test.txt").string();
  spec.class_map = (root / "lists/map.txt").string();
  const Dataset d = build_dataset(spec);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"ant", "bottle opener"}));
  EXPECT_EQ(ids_of(d),
            (std::vector<std::string>{"png_ready/ant/3.png", "png_ready/bottle opener/1.png"}));
  ASSERT_EQ(d.sources.size(), 1u);
  EXPECT_EQ(d.sources[0].kind, "list");
  EXPECT_EQ(d.sources[0].missing,
            (std::vector<std::string>{(root / "png_ready/bottle opener/2.png").string()}));
  const DatasetSummary s = summarize(d);
  EXPECT_EQ(s.num_missing, 1);
  EXPECT_TRUE(contains(s.to_table(), "1 missing")) << s.to_table();

  // Without a map the class is the parent folder; without --root the list's folder is the root.
  write(root / "lists/png_ready/cat/9.png");
  write(root / "lists/rel.txt", "png_ready/cat/9.png 7\n");
  DatasetSpec rel;
  rel.photo_list = (root / "lists/rel.txt").string();
  const Dataset r = build_dataset(rel);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].class_name, "cat");
  EXPECT_EQ(r.items[0].modality, model::kPhoto);
  EXPECT_EQ(r.items[0].path, (root / "lists/png_ready/cat/9.png").string());
}

TEST(Dataset, MalformedListAndMapLinesNameFileAndLine) {
  const fs::path root = test::temp_dir("dataset_malformed");
  write(root / "a/1.png");
  DatasetSpec spec;
  spec.root = root.string();
  spec.sketch_list = (root / "list.txt").string();
  for (const char* bad : {"a/1.png", "a/1.png -1", "a/1.png x", " 3"}) {
    write(spec.sketch_list, std::string("a/1.png 0\n") + bad + "\n");
    const std::string msg = error_of([&] { build_dataset(spec); });
    EXPECT_TRUE(contains(msg, spec.sketch_list + ":2: malformed line")) << bad << ": " << msg;
  }
  write(spec.sketch_list, "a/1.png 4\n");
  spec.class_map = (root / "map.txt").string();
  write(spec.class_map, "a 0\nb 1\n");
  std::string msg = error_of([&] { build_dataset(spec); });
  EXPECT_TRUE(contains(msg, ":1: label 4 is not in the class map")) << msg;
  write(spec.class_map, "a 0\nb 0\n");
  msg = error_of([&] { build_dataset(spec); });
  EXPECT_TRUE(contains(msg, "map.txt:2: id 0 appears twice")) << msg;
  spec.class_map = (root / "absent.txt").string();
  msg = error_of([&] { build_dataset(spec); });
  EXPECT_TRUE(contains(msg, "cannot open class map")) << msg;
}

TEST(Dataset, NdjsonFilesMatchTheSplitThroughItsQuickDrawWords) {
  const fs::path dir = fs::path(test::temp_dir("dataset_ndjson")) / "quickdraw";
  write(dir / "The Eiffel Tower.ndjson", "{\"word\":1}\n\n{\"word\":2}\n");
  write(dir / "cow.ndjson", "{}\n");
  write(dir / "zigzag.ndjson", "{}\n{}\n");
  write(dir / "notes.txt");
  DatasetSpec spec;
  spec.ndjson_dirs = {dir.string()};
  spec.split = "quickdraw30";
  const Dataset d = build_dataset(spec);
  EXPECT_EQ(d.split, "quickdraw30");
  EXPECT_EQ(d.class_names.size(), 110u);
  EXPECT_EQ(d.unseen_classes.size(), 30u);
  ASSERT_EQ(d.items.size(), 3u);
  // seen classes come first: "eiffel tower" is seen in QuickDraw-Ext, "cow" unseen.
  EXPECT_EQ(d.items[0].class_name, "eiffel tower");
  EXPECT_EQ(d.items[0].record, 0);
  EXPECT_EQ(d.items[1].record, 2);  // line numbers count the blank line
  EXPECT_EQ(d.items[1].id, "quickdraw/The Eiffel Tower.ndjson#2");
  EXPECT_EQ(d.items[1].path, (dir / "The Eiffel Tower.ndjson").string());
  EXPECT_EQ(d.items[2].class_name, "cow");
  ASSERT_EQ(d.sources.size(), 1u);
  EXPECT_EQ(d.sources[0].out_of_split, (std::map<std::string, int64_t>{{"zigzag", 2}}));
  EXPECT_EQ(d.sources[0].skipped_entries, 1);
  const DatasetSummary s = summarize(d);
  EXPECT_EQ(s.num_out_of_split, 2);
  EXPECT_EQ(s.counts[0][0], 2);
  EXPECT_EQ(s.counts[1][0], 1);
  EXPECT_EQ(s.empty_classes.size(), 108u);
}

TEST(Dataset, KeepOutOfSplitAddsExtraSeenClassesAndNeverUnseenOnes) {
  const fs::path dir = fs::path(test::temp_dir("dataset_keep")) / "quickdraw";
  write(dir / "The Eiffel Tower.ndjson", "{}\n");
  write(dir / "cow.ndjson", "{}\n");         // unseen in QuickDraw-Ext
  write(dir / "zigzag.ndjson", "{}\n{}\n");  // outside the split
  write(dir / "Anvil.ndjson", "{}\n");       // outside the split
  DatasetSpec spec;
  spec.ndjson_dirs = {dir.string()};
  spec.split = "quickdraw30";
  spec.keep_out_of_split = true;
  const Dataset d = build_dataset(spec);
  ASSERT_EQ(d.class_names.size(), 112u);
  ASSERT_EQ(d.seen_classes.size(), 82u);
  EXPECT_EQ(d.unseen_classes.size(), 30u);
  // The extras follow the split's seen classes, sorted by name; the unseen ones stay last.
  EXPECT_EQ(d.seen_classes[80], "Anvil");
  EXPECT_EQ(d.seen_classes[81], "zigzag");
  EXPECT_EQ(d.class_names[80], "Anvil");
  EXPECT_EQ(d.class_names[82], d.unseen_classes[0]);
  ASSERT_EQ(d.items.size(), 5u);
  std::map<std::string, int64_t> index;
  for (const auto& item : d.items) {
    EXPECT_EQ(d.class_names[static_cast<size_t>(item.class_index)], item.class_name);
    index[item.class_name] = item.class_index;
  }
  EXPECT_LT(index.at("eiffel tower"), 80);  // one of the split's own seen classes
  EXPECT_GE(index.at("cow"), 82);           // still unseen, through the split's own spelling
  EXPECT_LT(index.at("zigzag"), 82);
  EXPECT_TRUE(d.sources[0].out_of_split.empty());
  // Without a split the flag means nothing: refused rather than ignored.
  DatasetSpec no_split;
  no_split.ndjson_dirs = {dir.string()};
  no_split.keep_out_of_split = true;
  EXPECT_TRUE(test::contains(test::error_of([&] { build_dataset(no_split); }), "needs --split"));
}

TEST(Dataset, OfficialLayoutWithSplitUsesTheSplitSpelling) {
  const fs::path root = test::temp_dir("dataset_tuberlin");
  write(root / "png_ready/alarm_clock/1.png");
  write(root / "png_ready/Banana/2.png");
  write(root / "png_ready/not a class/3.png");
  write(root / "ImageResized_ready/Alarm-Clock/4.JPEG");
  DatasetSpec spec;
  spec.layout = "tuberlin";
  spec.root = root.string();
  spec.split = "tuberlin30";
  const Dataset d = build_dataset(spec);
  ASSERT_EQ(d.items.size(), 3u);
  EXPECT_EQ(d.items[0].class_name, "alarm clock");
  EXPECT_EQ(d.items[0].id, "png_ready/alarm_clock/1.png");
  EXPECT_EQ(d.items[1].class_name, "banana");
  EXPECT_EQ(d.items[2].class_name, "alarm clock");
  EXPECT_EQ(d.items[2].modality, model::kPhoto);
  EXPECT_EQ(d.class_names.size(), 250u);
  EXPECT_EQ(d.class_names[2], "alarm clock");  // seen id 2
  EXPECT_EQ(d.sources[0].out_of_split, (std::map<std::string, int64_t>{{"not a class", 1}}));
  const DatasetSummary s = summarize(d);
  EXPECT_EQ(s.lacking_photos, (std::vector<std::string>{"banana"}));
  EXPECT_TRUE(counts_of(s, "banana").unseen);
  EXPECT_EQ(counts_of(s, "alarm clock").photos, 1);
}

TEST(Dataset, BadSpecsGetClearErrors) {
  const std::string root = make_generic_tree();
  DatasetSpec spec;
  EXPECT_TRUE(contains(error_of([&] { build_dataset(spec); }), "no data source"));
  spec.layout = "sketchy";
  EXPECT_TRUE(contains(error_of([&] { build_dataset(spec); }), "needs its ROOT folder"));
  spec.root = root;
  EXPECT_TRUE(contains(error_of([&] { build_dataset(spec); }),
                       "256x256/sketch/tx_000000000000_ready' does not exist"));
  spec.layout = "imagenet";
  EXPECT_TRUE(contains(error_of([&] { build_dataset(spec); }),
                       "unknown layout 'imagenet'; the layouts are generic, sketchy"));
  spec.layout = "generic";
  spec.split = "tuberlin";
  EXPECT_TRUE(contains(error_of([&] { build_dataset(spec); }), "unknown split 'tuberlin'"));
  spec.unseen_file = root + "/unseen.txt";
  EXPECT_TRUE(contains(error_of([&] { build_dataset(spec); }), "not both"));
  const std::string msg = error_of([&] {
    DatasetSpec s2;
    s2.sketch_dirs = {root + "/sketch/Cat"};  // its "classes" are a nested folder only
    s2.split = "sketchy25";
    build_dataset(s2);
  });
  EXPECT_TRUE(contains(msg, "no item of the dataset's classes (split sketchy25)")) << msg;
  // Two sources whose folders share a name give the same ids.
  write(root + "/other/sketch/Cat/a.PNG");
  DatasetSpec dup;
  dup.sketch_dirs = {root + "/sketch", root + "/other/sketch"};
  EXPECT_TRUE(
      contains(error_of([&] { build_dataset(dup); }), "two items share the id 'sketch/Cat/a.PNG'"));
}

// ROOT/png_ready → shared tuberlin40, ROOT/ImageResized_ready → shared photos.
std::string link_shared_tuberlin_root() {
  const fs::path root = test::temp_dir("dataset_shared_tuberlin");
  fs::create_directory_symlink(test::shared("data/tuberlin40"), root / "png_ready");
  fs::create_directory_symlink(test::shared("data/photos"), root / "ImageResized_ready");
  return root.string();
}

TEST(DatasetShared, TuBerlin40ThroughTheOfficialLayout) {
  if (!fs::is_directory(test::shared("data/tuberlin40"))) GTEST_SKIP() << "no ../shared/data";
  DatasetSpec spec;
  spec.layout = "tuberlin";
  spec.root = link_shared_tuberlin_root();
  spec.split = "tuberlin30";
  const Dataset d = build_dataset(spec);
  const DatasetSummary s = summarize(d);
  EXPECT_EQ(s.counts[1][0], 3 * 80);
  EXPECT_EQ(s.counts[0][0], 37 * 80);
  for (const char* name : {"ant", "parachute", "pizza"}) {
    EXPECT_EQ(counts_of(s, name).sketches, 80) << name;
    EXPECT_TRUE(counts_of(s, name).unseen) << name;
  }
  EXPECT_EQ(d.sources[0].items, 3200);
  EXPECT_TRUE(d.sources[0].out_of_split.empty());
  // The photos' unseen TU-Berlin classes (README): banana, bus, horse, hot air balloon, penguin.
  EXPECT_EQ(counts_of(s, "hot air balloon").photos, 1);
  EXPECT_EQ(counts_of(s, "penguin").photos, 3);
  EXPECT_EQ(s.counts[1][1], 7);
  EXPECT_EQ(d.items.front().id.rfind("png_ready/", 0), 0u) << d.items.front().id;
}

TEST(DatasetShared, ListSamplesResolveTheirLabelsThroughTheMaps) {
  if (!fs::is_directory(test::shared("data/tuberlin40"))) GTEST_SKIP() << "no ../shared/data";
  const std::string splits = test::shared("data/splits/");
  DatasetSpec spec;
  spec.layout = "tuberlin";
  spec.root = link_shared_tuberlin_root();
  spec.sketch_list = splits + "tuberlin_test_sketch_perclass5_sample.txt";
  spec.photo_list = splits + "tuberlin_test_photo_perclass5_sample.txt";
  spec.class_map = splits + "tuberlin_cname_cid_unseen.txt";
  spec.split = "tuberlin30";
  const Dataset d = build_dataset(spec);
  const DatasetSummary s = summarize(d);
  // 30 classes × 5 lines each; only the sketches of ant, parachute and pizza are present.
  EXPECT_EQ(s.counts[1][0], 15);
  EXPECT_EQ(s.counts[0][0] + s.counts[0][1] + s.counts[1][1], 0);
  EXPECT_EQ(d.sources[0].missing.size(), 135u);
  EXPECT_EQ(d.sources[1].missing.size(), 150u);
  for (const auto& item : d.items) {
    const std::string folder = fs::path(item.id).parent_path().filename().string();
    EXPECT_EQ(folder, item.class_name);  // the label's map name is the path's folder
  }
  // Every Sketchy sample label resolves through its map: all files missing, none malformed.
  spec.layout = "sketchy";
  spec.root = test::temp_dir("dataset_empty_sketchy");
  spec.sketch_list = splits + "sketchy_zeroshot1_test_sketch_perclass5_sample.txt";
  spec.photo_list = splits + "sketchy_zeroshot1_test_photo_perclass5_sample.txt";
  spec.class_map = splits + "sketchy_zeroshot1_cname_cid_unseen.txt";
  spec.split = "sketchy25";
  const std::string msg = error_of([&] { build_dataset(spec); });
  EXPECT_TRUE(contains(msg, "no item of the dataset's classes")) << msg;
}

}  // namespace
}  // namespace hcmsn::data
