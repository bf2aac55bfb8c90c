// Tests of the shipped standard splits: counts, known entries, the unseen lists equal the
// ZSE-SBIR *_unseen*.txt files and the seen lists the cname_cid maps (read from ../shared when
// present), seen/unseen disjoint, unique keys, and the QuickDraw-word column.
#include "hcmsn/data/standard_splits.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "hcmsn/data/class_name.h"
#include "support/test_support.h"

namespace hcmsn::data {
namespace {

struct Expected {
  const char* name;
  const char* dataset;
  const char* prefix;
  const char* unseen_file;
  size_t seen, unseen;
};

const Expected kExpected[] = {
    {"sketchy25", "sketchy", "sketchy_zeroshot1", "sketchy_zeroshot1_unseen25.txt", 100, 25},
    {"sketchy21", "sketchy", "sketchy_zeroshot0", "sketchy_zeroshot0_unseen21.txt", 104, 21},
    {"tuberlin30", "tuberlin", "tuberlin", "tuberlin_unseen30.txt", 220, 30},
    {"quickdraw30", "quickdraw", "quickdraw", "quickdraw_unseen30.txt", 80, 30},
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// `name id` lines → names, checking the ids count up from 0.
std::vector<std::string> read_map_names(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& line : read_lines(path)) {
    const auto sp = line.rfind(' ');
    EXPECT_EQ(line.substr(sp + 1), std::to_string(out.size())) << path;
    out.push_back(line.substr(0, sp));
  }
  return out;
}

TEST(StandardSplits, NamesAndCounts) {
  EXPECT_EQ(standard_split_names(),
            (std::vector<std::string>{"sketchy25", "sketchy21", "tuberlin30", "quickdraw30"}));
  for (const auto& e : kExpected) {
    const StandardSplit& s = standard_split(e.name);
    EXPECT_EQ(s.name, e.name);
    EXPECT_EQ(s.dataset, e.dataset);
    EXPECT_EQ(s.source, e.prefix);
    EXPECT_EQ(s.seen.size(), e.seen) << e.name;
    EXPECT_EQ(s.unseen.size(), e.unseen) << e.name;
    EXPECT_EQ(s.seen_names().size(), e.seen);
    EXPECT_EQ(s.unseen_names().size(), e.unseen);
  }
}

TEST(StandardSplits, KnownEntriesInIdOrder) {
  const auto& tu = standard_split("tuberlin30");
  EXPECT_EQ(tu.seen[0].name, "wrist-watch");
  EXPECT_EQ(tu.seen[2].name, "alarm clock");
  EXPECT_EQ(tu.seen[2].ndjson_word, "alarm clock");
  EXPECT_EQ(tu.unseen[0].name, "banana");
  EXPECT_EQ(tu.unseen[1].name, "bus");
  const auto& sk = standard_split("sketchy25");
  EXPECT_EQ(sk.seen[0].name, "pig");
  EXPECT_EQ(sk.seen[3].name, "hotdog");
  EXPECT_EQ(sk.seen[3].ndjson_word, "");  // QuickDraw spells it "hot dog": no key match
  EXPECT_EQ(sk.unseen[0].name, "cup");
  // The three QuickDraw-Ext hand mappings of classes.tsv.
  std::set<std::pair<std::string, std::string>> words;
  const auto& qd = standard_split("quickdraw30");
  for (const auto* part : {&qd.seen, &qd.unseen}) {
    for (const auto& c : *part) words.emplace(c.name, c.ndjson_word);
  }
  EXPECT_TRUE(words.count({"eiffel tower", "The Eiffel Tower"}));
  EXPECT_TRUE(words.count({"crocodilian", "crocodile"}));
  EXPECT_TRUE(words.count({"motorcycle", "motorbike"}));
  for (const auto& w : words) EXPECT_FALSE(w.second.empty()) << w.first << " has no drawing file";
}

TEST(StandardSplits, SeenAndUnseenDisjointWithUniqueKeys) {
  for (const auto& name : standard_split_names()) {
    const auto& s = standard_split(name);
    std::set<std::string> keys, word_keys;
    for (const auto* part : {&s.seen, &s.unseen}) {
      for (const auto& c : *part) {
        EXPECT_TRUE(keys.insert(class_key(c.name)).second) << name << ": " << c.name;
        if (!c.ndjson_word.empty()) {
          EXPECT_TRUE(word_keys.insert(class_key(c.ndjson_word)).second) << name << ": " << c.name;
        }
      }
    }
    EXPECT_EQ(keys.size(), s.seen.size() + s.unseen.size());
  }
}

TEST(StandardSplits, UnknownNameListsTheValidOnes) {
  const std::string msg = test::error_of([] { standard_split("sketchy"); });
  EXPECT_TRUE(test::contains(msg, "unknown split 'sketchy'")) << msg;
  EXPECT_TRUE(test::contains(msg, "sketchy25, sketchy21, tuberlin30, quickdraw30")) << msg;
}

TEST(StandardSplits, EqualTheSharedSplitFiles) {
  const std::string dir = test::shared("data/splits");
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is absent";
  for (const auto& e : kExpected) {
    const auto& s = standard_split(e.name);
    EXPECT_EQ(s.unseen_names(), read_lines(dir + "/" + e.unseen_file)) << e.name;
    EXPECT_EQ(s.unseen_names(), read_map_names(dir + "/" + e.prefix + "_cname_cid_unseen.txt"));
    EXPECT_EQ(s.seen_names(), read_map_names(dir + "/" + e.prefix + "_cname_cid_seen.txt"));
  }
}

}  // namespace
}  // namespace hcmsn::data
