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
#include <vector>

namespace hcmsn::data {

/// The normalised key of `name`. Throws hcmsn::Error when the name is empty or only whitespace
/// (a class without a name is always a broken input line, never a class).
std::string class_key(std::string_view name);

/// A looser key, for keeping held-out classes out of training only, never for joining data:
/// class_key without its separators, without parenthesised qualifiers and without a leading
/// "the". `light bulb` / `lightbulb`, `hot dog` / `hotdog`, `mouse (animal)` / `mouse` and
/// `The Eiffel Tower` / `eiffel tower` are twins: one spelling must not be trained while the
/// other is validated or tested. A false match only takes one more class out of training.
std::string twin_key(std::string_view name);

/// The `names` that have no twin (twin_key) among `held_out`, in their order; each one left out
/// is appended to `left_out` when given.
std::vector<std::string> without_twins_of(const std::vector<std::string>& names,
                                          const std::vector<std::string>& held_out,
                                          std::vector<std::string>* left_out = nullptr);

}  // namespace hcmsn::data
