// Tests of class_key: the README's examples, separator runs, case, whitespace, the ends, and the
// documented non-joins (different words stay different keys); of twin_key, which finds those
// twins to keep them out of training.
#include "hcmsn/data/class_name.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace hcmsn::data {
namespace {

TEST(ClassKey, ReadmeExamples) {
  EXPECT_EQ(class_key("hot-air_balloon"), "hot_air_balloon");
  EXPECT_EQ(class_key("hot air balloon"), "hot_air_balloon");
  EXPECT_EQ(class_key("car (sedan)"), "car_(sedan)");
  EXPECT_EQ(class_key("car_(sedan)"), "car_(sedan)");
  EXPECT_EQ(class_key("The Eiffel Tower"), "the_eiffel_tower");
  EXPECT_EQ(class_key("t-shirt"), "t_shirt");
  EXPECT_EQ(class_key("jack-o-lantern"), "jack_o_lantern");
  EXPECT_EQ(class_key("alarm clock"), "alarm_clock");
  EXPECT_EQ(class_key("teddy-bear"), "teddy_bear");
}

TEST(ClassKey, RunsOfMixedSeparatorsBecomeOneUnderscore) {
  EXPECT_EQ(class_key("a - _b"), "a_b");
  EXPECT_EQ(class_key("a__b--c  d"), "a_b_c_d");
  EXPECT_EQ(class_key("A_B"), "a_b");
}

TEST(ClassKey, StripsWhitespaceButKeepsSeparatorsAtTheEnds) {
  EXPECT_EQ(class_key("  Alarm Clock \r\n"), "alarm_clock");
  EXPECT_EQ(class_key("\tcat\t"), "cat");
  EXPECT_EQ(class_key("_cat-"), "_cat_");
  EXPECT_EQ(class_key("--cat"), "_cat");
  EXPECT_EQ(class_key("-"), "_");
}

TEST(ClassKey, KeepsOtherCharacters) {
  EXPECT_EQ(class_key("mouse (animal)"), "mouse_(animal)");
  EXPECT_EQ(class_key("Café.2"), "café.2");  // non-ASCII bytes are kept, not lower-cased
  EXPECT_EQ(class_key("a\tb"), "a\tb");      // a tab inside is no separator
}

TEST(ClassKey, DifferentWordsStayDifferent) {
  EXPECT_NE(class_key("tablelamp"), class_key("table_lamp"));
  EXPECT_NE(class_key("hotdog"), class_key("hot-dog"));
  EXPECT_EQ(class_key("hot-dog"), class_key("hot dog"));
}

TEST(ClassKey, EmptyNameIsAnError) {
  EXPECT_TRUE(test::contains(test::error_of([] { class_key(""); }), "empty class name"));
  EXPECT_TRUE(test::contains(test::error_of([] { class_key(" \t\r\n"); }), "empty class name"));
}

TEST(TwinKey, JoinsTheDocumentedSpellingTwins) {
  // ../shared/data/README.md's table of names the key rule does not join, and TU-Berlin's
  // lightbulb next to QuickDraw's light bulb.
  EXPECT_EQ(twin_key("lightbulb"), twin_key("light bulb"));
  EXPECT_EQ(twin_key("tablelamp"), twin_key("table_lamp"));
  EXPECT_EQ(twin_key("hotdog"), twin_key("hot-dog"));
  EXPECT_EQ(twin_key("wineglass"), twin_key("wine glass"));
  EXPECT_EQ(twin_key("speed-boat"), twin_key("speedboat"));
  EXPECT_EQ(twin_key("mouse (animal)"), twin_key("mouse"));
  EXPECT_EQ(twin_key("bear (animal)"), twin_key("Bear"));
  EXPECT_EQ(twin_key("The Eiffel Tower"), twin_key("eiffel tower"));
  EXPECT_EQ(twin_key("lightbulb"), "lightbulb");
}

TEST(TwinKey, KeepsDifferentClassesApart) {
  EXPECT_NE(twin_key("bat"), twin_key("baseball bat"));
  EXPECT_NE(twin_key("saw"), twin_key("see saw"));
  EXPECT_NE(twin_key("table"), twin_key("table lamp"));
  EXPECT_NE(twin_key("theatre"), twin_key("atre"));  // "the" only as a word of its own
  EXPECT_EQ(twin_key("theatre"), "theatre");
  EXPECT_EQ(twin_key("(animal)"), "(animal)");  // nothing but a qualifier: its own key
  EXPECT_TRUE(test::contains(test::error_of([] { twin_key(" "); }), "empty class name"));
}

TEST(TwinKey, WithoutTwinsOfLeavesOutEveryTwinOfAHeldOutClass) {
  std::vector<std::string> left_out;
  const auto kept = without_twins_of({"light bulb", "cat", "Hot Dog", "lightbulb", "dog"},
                                     {"lightbulb", "hotdog"}, &left_out);
  EXPECT_EQ(kept, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(left_out, (std::vector<std::string>{"light bulb", "Hot Dog", "lightbulb"}));
  EXPECT_EQ(without_twins_of({"a", "b"}, {}), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace hcmsn::data
