// Class-name normalisation: one key under which the benchmarks' different spellings of the same
// class meet (`alarm_clock`, `alarm clock`, `hot-air_balloon`, `Hot air balloon`).
//
// The rule (the one of ../shared/data/README.md):
//   1. strip leading and trailing whitespace (space, tab, CR, LF);
//   2. lower-case the ASCII letters (other bytes, UTF-8 included, are kept as they are);
//   3. replace every run of spaces, underscores and hyphens by a single '_'.
// Parentheses and every other character stay: `car (sedan)` → `car_(sedan)`,
// `The Eiffel Tower` → `the_eiffel_tower`, `jack-o-lantern` → `jack_o_lantern`. Separators at
// the ends are kept as one '_' (`_cat-` → `_cat_`): they are part of the name, not whitespace.
// The rule joins spellings, not synonyms: `tablelamp` and `table_lamp` stay different keys.
#pragma once

#include <string>
#include <string_view>

namespace hcmsn::data {

/// The normalised key of `name`. Throws hcmsn::Error when the name is empty or only whitespace
/// (a class without a name is always a broken input line, never a class).
std::string class_key(std::string_view name);

}  // namespace hcmsn::data
