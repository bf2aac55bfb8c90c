#include "hcmsn/semantic/wordpiece.h"

#include <fstream>
#include <sstream>

#include "hcmsn/util/check.h"

namespace hcmsn::semantic {
namespace {

// A code point of the (normalised) text and the bytes of the original text it came from.
struct Char {
  char32_t cp;
  size_t begin, end;
};

struct Range {
  char32_t lo, hi;
};

template <size_t N>
bool in_ranges(char32_t cp, const Range (&ranges)[N]) {
  for (const auto& r : ranges) {
    if (cp >= r.lo && cp <= r.hi) return true;
  }
  return false;
}

// Decodes UTF-8; rejects invalid, overlong and surrogate sequences with the byte offset.
std::vector<Char> decode_utf8(const std::string& text) {
  std::vector<Char> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    int len = 0;
    char32_t cp = 0;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07;
    }
    HCMSN_CHECK(len > 0 && i + len <= text.size(), "text is not valid UTF-8 (byte ", i, " of \"",
                text, "\"); save the file as UTF-8");
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      HCMSN_CHECK((b & 0xC0) == 0x80, "text is not valid UTF-8 (byte ", i + k, " of \"", text,
                  "\"); save the file as UTF-8");
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    HCMSN_CHECK(cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF),
                "text is not valid UTF-8 (bad code point at byte ", i, " of \"", text,
                "\"); save the file as UTF-8");
    out.push_back({cp, i, i + len});
    i += len;
  }
  return out;
}

void append_utf8(std::string& s, char32_t cp) {
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Unicode category Zs plus \t \n \r (BERT counts those as whitespace, not control).
bool is_whitespace(char32_t cp) {
  static constexpr Range kSpace[] = {{0x09, 0x0A},     {0x0D, 0x0D},     {0x20, 0x20},
                                     {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
                                     {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}};
  return in_ranges(cp, kSpace);
}

// Categories Cc, Cf, Co (Cs cannot occur in valid UTF-8; Cn is not recognised).
bool is_control(char32_t cp) {
  static constexpr Range kControl[] = {
      {0x00, 0x1F},       {0x7F, 0x9F},       {0xAD, 0xAD},        {0x600, 0x605},
      {0x61C, 0x61C},     {0x6DD, 0x6DD},     {0x70F, 0x70F},      {0x8E2, 0x8E2},
      {0x180E, 0x180E},   {0x200B, 0x200F},   {0x202A, 0x202E},    {0x2060, 0x2064},
      {0x2066, 0x206F},   {0xE000, 0xF8FF},   {0xFEFF, 0xFEFF},    {0xFFF9, 0xFFFB},
      {0x110BD, 0x110BD}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},  {0xE0001, 0xE0001},
      {0xE0020, 0xE007F}, {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD}};
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return in_ranges(cp, kControl);
}

// ASCII non-alphanumerics (as BERT does) and Unicode category P* of the common blocks.
bool is_punctuation(char32_t cp) {
  static constexpr Range kPunct[] = {
      {0x21, 0x2F},     {0x3A, 0x40},     {0x5B, 0x60},     {0x7B, 0x7E},     {0xA1, 0xA1},
      {0xA7, 0xA7},     {0xAB, 0xAB},     {0xB6, 0xB7},     {0xBB, 0xBB},     {0xBF, 0xBF},
      {0x37E, 0x37E},   {0x387, 0x387},   {0x55A, 0x55F},   {0x589, 0x58A},   {0x5BE, 0x5BE},
      {0x5C0, 0x5C0},   {0x5C3, 0x5C3},   {0x5C6, 0x5C6},   {0x5F3, 0x5F4},   {0x609, 0x60A},
      {0x60C, 0x60D},   {0x61B, 0x61B},   {0x61D, 0x61F},   {0x66A, 0x66D},   {0x6D4, 0x6D4},
      {0x964, 0x965},   {0x970, 0x970},   {0xE4F, 0xE4F},   {0xE5A, 0xE5B},   {0x2010, 0x2027},
      {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E}, {0x207D, 0x207E}, {0x208D, 0x208E},
      {0x2308, 0x230B}, {0x2329, 0x232A}, {0x2768, 0x2775}, {0x27C5, 0x27C6}, {0x27E6, 0x27EF},
      {0x2983, 0x2998}, {0x29D8, 0x29DB}, {0x29FC, 0x29FD}, {0x2E00, 0x2E2E}, {0x2E30, 0x2E4F},
      {0x3001, 0x3003}, {0x3008, 0x3011}, {0x3014, 0x301F}, {0x3030, 0x3030}, {0x303D, 0x303D},
      {0x30A0, 0x30A0}, {0x30FB, 0x30FB}, {0xFE10, 0xFE19}, {0xFE30, 0xFE52}, {0xFE54, 0xFE61},
      {0xFE63, 0xFE63}, {0xFE68, 0xFE68}, {0xFE6A, 0xFE6B}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A},
      {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B}, {0xFF1F, 0xFF20}, {0xFF3B, 0xFF3D}, {0xFF3F, 0xFF3F},
      {0xFF5B, 0xFF5B}, {0xFF5D, 0xFF5D}, {0xFF5F, 0xFF65}};
  return in_ranges(cp, kPunct);
}

// The CJK Unified Ideographs blocks, exactly BERT's definition (not Hangul or kana).
bool is_cjk(char32_t cp) {
  static constexpr Range kCjk[] = {{0x4E00, 0x9FFF},   {0x3400, 0x4DBF},   {0x20000, 0x2A6DF},
                                   {0x2A700, 0x2B73F}, {0x2B740, 0x2B81F}, {0x2B820, 0x2CEAF},
                                   {0xF900, 0xFAFF},   {0x2F800, 0x2FA1F}};
  return in_ranges(cp, kCjk);
}

bool is_combining_mark(char32_t cp) {
  static constexpr Range kMarks[] = {
      {0x300, 0x36F}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0xFE20, 0xFE2F}};
  return in_ranges(cp, kMarks);
}

constexpr char32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;

char32_t to_lower(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp < 0xC0) return cp;
  if (cp <= 0xDE) return cp == 0xD7 ? cp : cp + 32;  // Latin-1 capitals (not ×)
  if (cp >= 0x100 && cp <= 0x17F) {                  // Latin Extended-A: case pairs
    if (cp == 0x130) return 'i';                     // İ → i̇, whose dot is stripped anyway
    if (cp == 0x178) return 0xFF;
    const bool odd_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
    const bool even_upper = (cp <= 0x137 && cp != 0x131) || (cp >= 0x14A && cp <= 0x177);
    if ((odd_upper && cp % 2 == 1) || (even_upper && cp % 2 == 0)) return cp + 1;
    return cp;
  }
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;  // basic Greek
  if (cp == 0x386) return 0x3AC;
  if (cp >= 0x388 && cp <= 0x38A) return cp + 37;
  if (cp == 0x38C) return 0x3CC;
  if (cp == 0x38E || cp == 0x38F) return cp + 63;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;  // Cyrillic
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

// Base letter of an accented lower-case letter (NFD without its combining marks), else cp.
char32_t strip_accent(char32_t cp) {
  if (cp >= 0xE0 && cp <= 0xFF) {
    static constexpr char kLatin1[] = "aaaaaa?ceeeeiiii?nooooo??uuuuy?y";
    const char base = kLatin1[cp - 0xE0];
    return base == '?' ? cp : static_cast<char32_t>(base);
  }
  if (cp >= 0x100 && cp <= 0x17F) {
    // Latin Extended-A, lower-case entries only (to_lower ran first); '?' = no decomposition.
    static constexpr char kExtA[] =
        "aaaaaaccccccccdd??eeeeeeeeeegggggggghh??iiiiiiiii???jjkk?llllll?"
        "???nnnnnn???oooooo??rrrrrrsssssssstttt??uuuuuuuuuuuuwwyyyzzzzzz?";
    const char base = kExtA[cp - 0x100];
    return base == '?' ? cp : static_cast<char32_t>(base);
  }
  switch (cp) {
    case 0x3AC:
      return 0x3B1;  // ά
    case 0x3AD:
      return 0x3B5;  // έ
    case 0x3AE:
      return 0x3B7;  // ή
    case 0x3AF:
    case 0x3CA:
    case 0x390:
      return 0x3B9;  // ί ϊ ΐ
    case 0x3CC:
      return 0x3BF;  // ό
    case 0x3CD:
    case 0x3CB:
    case 0x3B0:
      return 0x3C5;  // ύ ϋ ΰ
    case 0x3CE:
      return 0x3C9;  // ώ
    case 0x439:
    case 0x45D:
      return 0x438;  // й ѝ
    case 0x450:
    case 0x451:
      return 0x435;  // ѐ ё
    case 0x453:
      return 0x433;  // ѓ
    case 0x457:
      return 0x456;  // ї
    case 0x45C:
      return 0x43A;  // ќ
    case 0x45E:
      return 0x443;  // ў
    default:
      return cp;
  }
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options)
    : options_(options), vocab_(std::move(vocab)) {
  HCMSN_CHECK(!vocab_.empty(), "the WordPiece vocabulary is empty");
  HCMSN_CHECK(options_.max_chars_per_word > 0, "max_chars_per_word must be positive");
  std::vector<std::string> duplicates;
  for (size_t i = 0; i < vocab_.size(); ++i) {
    if (!index_.emplace(vocab_[i], static_cast<int64_t>(i)).second) {
      duplicates.push_back("'" + vocab_[i] + "' (line " + std::to_string(i + 1) + ")");
    }
  }
  std::string dup_list;
  for (size_t i = 0; i < duplicates.size() && i < 20; ++i)
    dup_list += (i ? ", " : "") + duplicates[i];
  HCMSN_CHECK(duplicates.empty(), "the WordPiece vocabulary has ", duplicates.size(),
              " duplicate token(s): ", dup_list, "; every token must appear once");
  std::string missing;
  auto special = [&](const char* name) {
    const int64_t id = token_id(name);
    if (id < 0) missing += std::string(missing.empty() ? "" : ", ") + name;
    return id;
  };
  pad_id_ = special("[PAD]");
  unk_id_ = special("[UNK]");
  cls_id_ = special("[CLS]");
  sep_id_ = special("[SEP]");
  HCMSN_CHECK(missing.empty(), "the WordPiece vocabulary lacks the special token(s) ", missing,
              "; is this a BERT vocab.txt?");
}

WordPieceTokenizer WordPieceTokenizer::from_file(const std::string& path,
                                                 WordPieceOptions options) {
  std::ifstream in(path, std::ios::binary);
  HCMSN_CHECK(in, "cannot open the vocabulary ", path, "; give a BERT vocab.txt");
  std::vector<std::string> vocab;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(line);
  }
  HCMSN_CHECK(!in.bad(), "error reading ", path);
  HCMSN_CHECK(!vocab.empty(), path, " is empty; give a BERT vocab.txt");
  try {
    return WordPieceTokenizer(std::move(vocab), options);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

int64_t WordPieceTokenizer::token_id(const std::string& token) const {
  const auto it = index_.find(token);
  return it == index_.end() ? -1 : it->second;
}

const std::string& WordPieceTokenizer::token(int64_t id) const {
  HCMSN_CHECK(id >= 0 && id < size(), "token id ", id, " is outside the vocabulary of ", size(),
              " tokens");
  return vocab_[static_cast<size_t>(id)];
}

std::vector<WordPieceTokenizer::Piece> WordPieceTokenizer::pieces(const std::string& text) const {
  // Basic tokenisation into words of normalised characters.
  std::vector<std::vector<Char>> words;
  bool in_word = false;
  auto single = [&](const Char& c) {
    words.push_back({c});
    in_word = false;
  };
  for (Char c : decode_utf8(text)) {
    if (c.cp == 0 || c.cp == 0xFFFD || is_control(c.cp)) continue;
    if (is_whitespace(c.cp)) {
      in_word = false;
      continue;
    }
    if (is_cjk(c.cp)) {
      single(c);
      continue;
    }
    if (options_.lower_case) {
      c.cp = strip_accent(to_lower(c.cp));
      if (is_combining_mark(c.cp)) continue;
      if (c.cp >= kHangulFirst && c.cp <= kHangulLast) {
        // NFD splits a Hangul syllable into its jamo (Unicode §3.12), each spanning the syllable.
        if (!in_word) words.emplace_back();
        in_word = true;
        const char32_t s = c.cp - kHangulFirst;
        words.back().push_back({0x1100 + s / 588, c.begin, c.end});
        words.back().push_back({0x1161 + (s % 588) / 28, c.begin, c.end});
        if (s % 28 != 0) words.back().push_back({0x11A7 + s % 28, c.begin, c.end});
        continue;
      }
    }
    if (is_punctuation(c.cp)) {
      single(c);
      continue;
    }
    if (!in_word) words.emplace_back();
    words.back().push_back(c);
    in_word = true;
  }

  // Greedy longest-match-first WordPiece on each word.
  std::vector<Piece> out;
  std::string candidate;
  for (const auto& word : words) {
    if (static_cast<int64_t>(word.size()) > options_.max_chars_per_word) {
      out.push_back({unk_id_, word.front().begin, word.back().end});
      continue;
    }
    std::vector<Piece> word_pieces;
    size_t start = 0;
    bool bad = false;
    while (start < word.size()) {
      int64_t found = -1;
      size_t end = word.size();
      for (; end > start; --end) {
        candidate = start > 0 ? "##" : "";
        for (size_t k = start; k < end; ++k) append_utf8(candidate, word[k].cp);
        found = token_id(candidate);
        if (found >= 0) break;
      }
      if (found < 0) {
        bad = true;
        break;
      }
      word_pieces.push_back({found, word[start].begin, word[end - 1].end});
      start = end;
    }
    if (bad) {
      out.push_back({unk_id_, word.front().begin, word.back().end});
    } else {
      out.insert(out.end(), word_pieces.begin(), word_pieces.end());
    }
  }
  return out;
}

Encoding WordPieceTokenizer::encode(const std::string& text) const {
  Encoding e;
  e.ids.push_back(cls_id_);
  e.spans.emplace_back(0, 0);
  for (const auto& p : pieces(text)) {
    e.ids.push_back(p.id);
    e.spans.emplace_back(p.begin, p.end);
  }
  e.ids.push_back(sep_id_);
  e.spans.emplace_back(0, 0);
  return e;
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> out;
  for (const auto& p : pieces(text)) out.push_back(vocab_[static_cast<size_t>(p.id)]);
  return out;
}

}  // namespace hcmsn::semantic
