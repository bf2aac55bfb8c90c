#include "hcmsn/io/file_content.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hcmsn/io/checked_file.h"

namespace hcmsn::io {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// Text: no NUL and no control byte but tab, line feed, vertical tab, form feed, carriage return,
// backspace and escape (terminal colours in a saved log).
bool looks_like_text(std::string_view head) {
  return std::none_of(head.begin(), head.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 && !(c >= 0x08 && c <= 0x0D) && c != 0x1B;
  });
}

// Whether `text` is JSON up to where it ends: it parses, or fails only at its end (a longer file
// cut at kSniffBytes).
bool json_up_to_its_end(std::string_view text) {
  try {
    const nlohmann::json value = nlohmann::json::parse(text.begin(), text.end());
    return !value.is_discarded();
  } catch (const nlohmann::json::parse_error& e) {
    return e.byte >= text.size();
  }
}

// `head` starts with '{' or '['. JSON, or JSON Lines (a first line that is a whole value); text
// that merely starts with a bracket, such as a BERT vocab.txt ("[PAD]"), fails early.
bool looks_like_json(std::string_view head) {
  if (json_up_to_its_end(head)) return true;
  const std::string_view line = head.substr(0, head.find('\n'));
  return line.size() < head.size() && nlohmann::json::accept(line.begin(), line.end());
}

FileContent sniff_text(std::string_view head) {
  if (starts_with(head, "\xEF\xBB\xBF")) head.remove_prefix(3);  // UTF-8 byte-order mark
  const size_t first = head.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string_view::npos) return FileContent::kText;
  head.remove_prefix(first);
  if ((head[0] == '{' || head[0] == '[') && looks_like_json(head)) return FileContent::kJson;
  if (starts_with_nocase(head, "<!doctype html") || starts_with_nocase(head, "<html")) {
    return FileContent::kHtml;
  }
  if (starts_with_nocase(head, "<svg") ||
      (starts_with_nocase(head, "<?xml") && head.find("<svg") != std::string_view::npos)) {
    return FileContent::kSvg;
  }
  return FileContent::kText;
}

}  // namespace

FileSniff sniff_bytes(std::string_view head) {
  FileSniff s;
  const auto at = [&](size_t i) { return static_cast<unsigned char>(head[i]); };
  if (head.empty()) {
    s.content = FileContent::kEmpty;
  } else if (starts_with(head, std::string_view("\x89HCMSN\r\n", 8))) {
    s.content = FileContent::kHcmsn;
    s.hcmsn_kind = peek_checked_kind(head);
  } else if (starts_with(head, "\x89PNG\r\n\x1A\n")) {
    s.content = FileContent::kPng;
  } else if (starts_with(head, "\xFF\xD8\xFF")) {
    s.content = FileContent::kJpeg;
  } else if (starts_with(head, "GIF87a") || starts_with(head, "GIF89a")) {
    s.content = FileContent::kGif;
  } else if (starts_with(head, "BM") && head.size() >= 10 &&
             head.substr(6, 4) == std::string_view("\0\0\0\0", 4)) {
    s.content = FileContent::kBmp;
  } else if (starts_with(head, "RIFF") && head.size() >= 12) {
    s.content = head.substr(8, 4) == "WEBP" ? FileContent::kWebp : FileContent::kRiff;
  } else if (starts_with(head, std::string_view("II*\0", 4)) ||
             starts_with(head, std::string_view("MM\0*", 4))) {
    s.content = FileContent::kTiff;
  } else if (starts_with(head, "\x93NUMPY")) {
    s.content = FileContent::kNpy;
  } else if (starts_with(head, "PK\x03\x04") || starts_with(head, "PK\x05\x06")) {
    s.content = FileContent::kZip;
  } else if (head.size() >= 2 && at(0) == 0x80 && at(1) >= 2 && at(1) <= 5) {
    s.content = FileContent::kPickle;
  } else if (head.size() >= 9 && head[8] == '{' && get_le(head, 0, 8) >= 2 &&
             get_le(head, 0, 8) < (uint64_t{100} << 20)) {
    s.content = FileContent::kSafetensors;
  } else if (looks_like_text(head)) {
    s.content = sniff_text(head);
  } else {
    s.content = FileContent::kBinary;
  }
  return s;
}

FileSniff sniff_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || status.type() == fs::file_type::not_found) return {FileContent::kMissing, ""};
  if (status.type() == fs::file_type::directory) return {FileContent::kFolder, ""};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {FileContent::kUnreadable, ""};
  std::string head(kSniffBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (in.bad()) return {FileContent::kUnreadable, ""};
  head.resize(static_cast<size_t>(in.gcount()));
  return sniff_bytes(head);
}

std::string describe(const FileSniff& sniff) {
  switch (sniff.content) {
    case FileContent::kMissing:
      return "nothing";
    case FileContent::kFolder:
      return "a folder";
    case FileContent::kUnreadable:
      return "content that cannot be read";
    case FileContent::kEmpty:
      return "nothing (an empty file)";
    case FileContent::kHcmsn:
      return sniff.hcmsn_kind.empty() ? "an hcmsn file of unreadable kind"
                                      : "an hcmsn " + sniff.hcmsn_kind + " file";
    case FileContent::kPng:
      return "a PNG image";
    case FileContent::kJpeg:
      return "a JPEG image";
    case FileContent::kGif:
      return "a GIF image";
    case FileContent::kBmp:
      return "a BMP image";
    case FileContent::kWebp:
      return "a WebP image";
    case FileContent::kRiff:
      return "a RIFF file (audio or video)";
    case FileContent::kTiff:
      return "a TIFF image";
    case FileContent::kNpy:
      return "a NumPy .npy array";
    case FileContent::kZip:
      return "a zip archive (e.g. PyTorch weights saved with torch.save)";
    case FileContent::kPickle:
      return "a Python pickle (e.g. PyTorch weights in the legacy torch.save format)";
    case FileContent::kSafetensors:
      return "a safetensors weights file";
    case FileContent::kJson:
      return "JSON";
    case FileContent::kHtml:
      return "an HTML page";
    case FileContent::kSvg:
      return "an SVG image";
    case FileContent::kText:
      return "plain text";
    case FileContent::kBinary:
      return "binary data of an unknown kind";
  }
  return "unknown content";
}

}  // namespace hcmsn::io
