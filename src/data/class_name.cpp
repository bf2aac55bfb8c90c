#include "hcmsn/data/class_name.h"

#include "hcmsn/util/check.h"

namespace hcmsn::data {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_separator(char c) {
  return c == ' ' || c == '_' || c == '-';
}

}  // namespace

std::string class_key(std::string_view name) {
  size_t begin = 0, end = name.size();
  while (begin < end && is_space(name[begin])) ++begin;
  while (end > begin && is_space(name[end - 1])) --end;
  HCMSN_CHECK(begin < end, "empty class name; every class needs a name (check the list or folder)");
  std::string key;
  key.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const char c = name[i];
    if (is_separator(c)) {
      if (i == begin || !is_separator(name[i - 1])) key.push_back('_');  // one per run
    } else {
      key.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
  }
  return key;
}

}  // namespace hcmsn::data
