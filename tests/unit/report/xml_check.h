// A small well-formedness checker for the SVG/HTML the report layer writes (no XML parser in
// the dependencies): balanced and properly nested tags, quoted attribute values, no raw '<'
// '>' or stray '&' in text or attributes, and — for numbers — no "nan"/"inf" tokens anywhere.
#pragma once

#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace hcmsn::test {

struct XmlCheckOptions {
  std::set<std::string> void_elements;  // HTML elements without a closing tag (meta, img, ...)
  std::set<std::string> raw_text_elements = {"style", "script"};
  bool forbid_non_finite_tokens = true;
};

inline std::set<std::string> html_void_elements() {
  return {"meta", "img", "br", "hr", "link", "input", "source", "wbr"};
}

namespace detail {

inline bool valid_entity_at(const std::string& s, size_t amp) {
  size_t i = amp + 1;
  if (i < s.size() && s[i] == '#') {
    ++i;
    const bool hex = i < s.size() && (s[i] == 'x' || s[i] == 'X');
    if (hex) ++i;
    const size_t start = i;
    while (i < s.size() && (hex ? std::isxdigit(static_cast<unsigned char>(s[i]))
                                : std::isdigit(static_cast<unsigned char>(s[i]))))
      ++i;
    return i > start && i < s.size() && s[i] == ';';
  }
  const size_t start = i;
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
  return i > start && i < s.size() && s[i] == ';';
}

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Problems in a piece of character data (text or an attribute value).
inline std::string check_chars(const std::string& s, bool in_attribute, bool numbers) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<') return "raw '<' in " + std::string(in_attribute ? "attribute" : "text");
    if (s[i] == '>' && !in_attribute) return "raw '>' in text";
    if (s[i] == '&' && !valid_entity_at(s, i)) return "stray '&' in: " + s.substr(i, 12);
  }
  if (numbers) {
    std::string token;
    const std::string text = s + " ";
    for (char c : text) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') {
        token += c;
        continue;
      }
      const std::string t = lower(token);
      if (t == "nan" || t == "-nan" || t == "inf" || t == "-inf" || t == "infinity") {
        return "non-finite number token '" + token + "'";
      }
      token.clear();
    }
  }
  return "";
}

}  // namespace detail

/// "" when `text` is well formed, else the first problem found and its offset.
inline std::string xml_problems(const std::string& text, const XmlCheckOptions& options = {}) {
  std::vector<std::string> open;
  size_t i = 0;
  auto fail = [&](const std::string& what, size_t at) {
    return what + " at offset " + std::to_string(at);
  };
  while (i < text.size()) {
    const size_t lt = text.find('<', i);
    const std::string chars = text.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    const std::string p = detail::check_chars(chars, false, options.forbid_non_finite_tokens);
    if (!p.empty()) return fail(p, i);
    if (lt == std::string::npos) break;
    if (text.compare(lt, 4, "<!--") == 0) {
      const size_t end = text.find("-->", lt);
      if (end == std::string::npos) return fail("unterminated comment", lt);
      i = end + 3;
      continue;
    }
    if (text.compare(lt, 2, "<!") == 0 || text.compare(lt, 2, "<?") == 0) {
      const size_t end = text.find('>', lt);
      if (end == std::string::npos) return fail("unterminated declaration", lt);
      i = end + 1;
      continue;
    }
    // Find the end of the tag outside quoted values.
    size_t j = lt + 1;
    char quote = 0;
    for (; j < text.size(); ++j) {
      if (quote != 0) {
        if (text[j] == quote) quote = 0;
      } else if (text[j] == '"' || text[j] == '\'') {
        quote = text[j];
      } else if (text[j] == '>') {
        break;
      }
    }
    if (j >= text.size()) return fail("unterminated tag", lt);
    std::string tag = text.substr(lt + 1, j - lt - 1);
    i = j + 1;
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty()) return fail("closing </" + name + "> without an open tag", lt);
      if (open.back() != name) return fail("</" + name + "> closes <" + open.back() + ">", lt);
      open.pop_back();
      continue;
    }
    const bool self_closing = !tag.empty() && tag.back() == '/';
    if (self_closing) tag.pop_back();
    size_t k = 0;
    while (k < tag.size() &&
           (std::isalnum(static_cast<unsigned char>(tag[k])) || tag[k] == '-' || tag[k] == ':'))
      ++k;
    const std::string name = tag.substr(0, k);
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) {
      return fail("bad tag name in <" + tag + ">", lt);
    }
    // Attributes: name="value" or name='value' (HTML boolean attributes are not used here).
    while (k < tag.size()) {
      if (std::isspace(static_cast<unsigned char>(tag[k]))) {
        ++k;
        continue;
      }
      const size_t a = k;
      while (k < tag.size() && tag[k] != '=' && !std::isspace(static_cast<unsigned char>(tag[k])))
        ++k;
      if (k == a || k >= tag.size() || tag[k] != '=') {
        return fail("attribute without a quoted value in <" + name + ">", lt);
      }
      ++k;
      if (k >= tag.size() || (tag[k] != '"' && tag[k] != '\'')) {
        return fail("unquoted attribute value in <" + name + ">", lt);
      }
      const char q = tag[k];
      const size_t end = tag.find(q, k + 1);
      if (end == std::string::npos) return fail("unterminated attribute value", lt);
      const std::string value = tag.substr(k + 1, end - k - 1);
      const std::string vp = detail::check_chars(value, true, options.forbid_non_finite_tokens);
      if (!vp.empty()) return fail(vp + " (attribute of <" + name + ">)", lt);
      k = end + 1;
    }
    if (self_closing || options.void_elements.count(name) != 0) continue;
    if (options.raw_text_elements.count(name) != 0) {
      const size_t end = text.find("</" + name + ">", i);
      if (end == std::string::npos) return fail("unterminated <" + name + ">", lt);
      i = end + name.size() + 3;
      continue;
    }
    open.push_back(name);
  }
  if (!open.empty()) return "unclosed <" + open.back() + "> at the end";
  return "";
}

inline size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

}  // namespace hcmsn::test
