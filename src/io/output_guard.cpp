#include "hcmsn/io/output_guard.h"

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "hcmsn/io/file_content.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/file_lock.h"

namespace hcmsn::io {
namespace {

namespace fs = std::filesystem;
using Content = OutputKind::Content;

// A path as compared: its canonical spelling and, when something is there, the file's identity.
struct Resolved {
  std::string canonical;
  std::optional<std::pair<dev_t, ino_t>> id;
  bool is_folder = false;
};

std::optional<std::pair<dev_t, ino_t>> identity(const std::string& path, bool* is_folder) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  if (is_folder != nullptr) *is_folder = S_ISDIR(st.st_mode);
  return std::make_pair(st.st_dev, st.st_ino);
}

Resolved resolve(const std::string& path) {
  Resolved r;
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  fs::path canonical = ec ? fs::path(path) : fs::weakly_canonical(absolute, ec);
  if (ec) canonical = absolute;
  canonical = canonical.lexically_normal();
  // "dir/" and "dir" are one path.
  if (!canonical.has_filename() && canonical.has_parent_path() &&
      canonical != canonical.root_path()) {
    canonical = canonical.parent_path();
  }
  r.canonical = canonical.string();
  r.id = identity(path, &r.is_folder);
  return r;
}

// The folders above `canonical`, nearest first, with their identities.
std::vector<Resolved> ancestors_of(const std::string& canonical) {
  std::vector<Resolved> out;
  fs::path p = fs::path(canonical);
  while (p.has_parent_path() && p.parent_path() != p) {
    p = p.parent_path();
    Resolved r;
    r.canonical = p.string();
    r.id = identity(r.canonical, &r.is_folder);
    out.push_back(std::move(r));
  }
  return out;
}

bool lies_inside(const std::string& child, const std::string& folder) {
  const fs::path c(child);
  const fs::path f(folder);
  auto ci = c.begin();
  for (auto fi = f.begin(); fi != f.end(); ++fi, ++ci) {
    if (ci == c.end() || *ci != *fi) return false;
  }
  return ci != c.end();
}

bool is_folder_kind(const OutputKind& kind) {
  return kind.content == Content::kFolder || kind.content == Content::kOwnedFolder;
}

bool replaceable(const FileSniff& existing, const OutputKind& kind) {
  if (existing.content == FileContent::kEmpty) return true;
  switch (kind.content) {
    case Content::kJson:
      return existing.content == FileContent::kJson;
    case Content::kNpy:
      return existing.content == FileContent::kNpy;
    case Content::kText:
      return existing.content == FileContent::kText;
    case Content::kHtml:
      return existing.content == FileContent::kHtml;
    case Content::kSvg:
      return existing.content == FileContent::kSvg;
    case Content::kPng:
      return existing.content == FileContent::kPng;
    case Content::kHcmsn:
      return existing.content == FileContent::kHcmsn && existing.hcmsn_kind == kind.detail;
    case Content::kFolder:
    case Content::kOwnedFolder:
      return false;
  }
  return false;
}

// Empty but for a writers' lock file (util/file_lock.h), which a command that stopped before
// writing anything leaves behind.
bool folder_is_empty(const std::string& path) {
  std::error_code ec;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() != util::kFolderLockName) return false;
  }
  return !ec;
}

}  // namespace

std::string describe(const OutputKind& kind) {
  switch (kind.content) {
    case Content::kJson:
      return "JSON";
    case Content::kNpy:
      return "a NumPy .npy array";
    case Content::kText:
      return "plain text";
    case Content::kHtml:
      return "an HTML page";
    case Content::kSvg:
      return "an SVG image";
    case Content::kPng:
      return "a PNG image";
    case Content::kHcmsn:
      return "an hcmsn " + kind.detail + " file";
    case Content::kFolder:
    case Content::kOwnedFolder:
      return "a folder";
  }
  return "output";
}

OutputGuard& OutputGuard::input(const std::string& what, const std::string& path) {
  if (!path.empty()) inputs_.push_back({what, path, {}, false});
  return *this;
}

OutputGuard& OutputGuard::inputs(const std::string& what, const std::vector<std::string>& paths) {
  for (const auto& p : paths) input(what, p);
  return *this;
}

OutputGuard& OutputGuard::output(const std::string& what, const std::string& path,
                                 OutputKind kind) {
  if (!path.empty()) outputs_.push_back({what, path, std::move(kind), false});
  return *this;
}

OutputGuard& OutputGuard::output_or_stdout(const std::string& what, const std::string& path,
                                           OutputKind kind) {
  if (!path.empty()) outputs_.push_back({what, path, std::move(kind), true});
  return *this;
}

void OutputGuard::check() const {
  // Rule 1: standard output.
  const Entry* to_stdout = nullptr;
  std::vector<const Entry*> files;
  for (const auto& o : outputs_) {
    if (!is_stdout_path(o.path)) {
      files.push_back(&o);
      continue;
    }
    HCMSN_CHECK(o.stdout_allowed, o.what,
                " cannot write to standard output ('-'); give it a file path");
    HCMSN_CHECK(to_stdout == nullptr, to_stdout ? to_stdout->what : "", " and ", o.what,
                " both write to standard output ('-'); send at most one of them there and give "
                "the other a file path");
    to_stdout = &o;
  }

  std::vector<Resolved> outs;
  outs.reserve(files.size());
  for (const Entry* o : files) outs.push_back(resolve(o->path));

  // Rule 2: inputs. Indexed by canonical path and identity: a command may read many files (every
  // item of a dataset), and outputs are few.
  std::unordered_map<std::string, size_t> input_by_path;
  std::map<std::pair<dev_t, ino_t>, size_t> input_by_id;
  std::vector<Resolved> ins;
  ins.reserve(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) {
    ins.push_back(resolve(inputs_[i].path));
    input_by_path.emplace(ins.back().canonical, i);
    if (ins.back().id) input_by_id.emplace(*ins.back().id, i);
  }
  const auto find_input = [&](const Resolved& r) -> const Entry* {
    if (auto it = input_by_path.find(r.canonical); it != input_by_path.end()) {
      return &inputs_[it->second];
    }
    if (r.id) {
      if (auto it = input_by_id.find(*r.id); it != input_by_id.end()) return &inputs_[it->second];
    }
    return nullptr;
  };
  const auto is_input_folder = [&](const Entry* e) {
    return ins[static_cast<size_t>(e - inputs_.data())].is_folder;
  };
  for (size_t i = 0; i < files.size(); ++i) {
    const Entry& o = *files[i];
    if (const Entry* in = find_input(outs[i])) {
      HCMSN_CHECK(false, o.what, " '", o.path, "' would overwrite the input ", in->what, " '",
                  in->path, "'; choose another path for ", o.what,
                  " (--force does not allow this)");
    }
    for (const Resolved& folder : ancestors_of(outs[i].canonical)) {
      const Entry* in = find_input(folder);
      if (in != nullptr && is_input_folder(in)) {
        HCMSN_CHECK(false, o.what, " '", o.path, "' lies inside ", in->what, " '", in->path,
                    "', a folder this command reads; choose a path for ", o.what,
                    " outside it (--force does not allow this)");
      }
    }
    if (o.kind.content != Content::kOwnedFolder) continue;
    for (size_t j = 0; j < ins.size(); ++j) {
      HCMSN_CHECK(!lies_inside(ins[j].canonical, outs[i].canonical), "the input ", inputs_[j].what,
                  " '", inputs_[j].path, "' lies inside ", o.what, " '", o.path,
                  "', a folder this command may empty; move the input out of it or choose "
                  "another ",
                  o.what, " (--force does not allow this)");
    }
  }

  // Rule 3: one path, one output. (Hashed: a command may declare thousands of image files.)
  std::unordered_map<std::string, size_t> output_by_path;
  std::map<std::pair<dev_t, ino_t>, size_t> output_by_id;
  for (size_t i = 0; i < files.size(); ++i) {
    size_t other = i;
    const auto by_path = output_by_path.emplace(outs[i].canonical, i);
    if (!by_path.second) {
      other = by_path.first->second;
    } else if (outs[i].id) {
      const auto by_id = output_by_id.emplace(*outs[i].id, i);
      if (!by_id.second) other = by_id.first->second;
    }
    HCMSN_CHECK(other == i, files[other]->what, " and ", files[i]->what, " both write '",
                files[i]->path, "'; give each its own path");
  }

  // Rules 4 to 6: what is already there.
  for (size_t i = 0; i < files.size(); ++i) {
    const Entry& o = *files[i];
    const FileSniff existing = sniff_file(o.path);
    if (existing.content == FileContent::kMissing) continue;
    const bool is_folder = existing.content == FileContent::kFolder;
    if (!is_folder_kind(o.kind)) {
      HCMSN_CHECK(!is_folder, o.what, " '", o.path, "' is a folder; give ", o.what, " a file path");
      HCMSN_CHECK(force_ || replaceable(existing, o.kind), o.what, " '", o.path, "' already holds ",
                  describe(existing), ", and this command writes ", describe(o.kind),
                  " there; choose another path for ", o.what,
                  ", or pass --force to replace the file");
      continue;
    }
    HCMSN_CHECK(is_folder, o.what, " '", o.path, "' is an existing file (", describe(existing),
                "), not a folder; give ", o.what, " a folder path");
    if (o.kind.content == Content::kOwnedFolder && !force_) {
      std::error_code ec;
      HCMSN_CHECK(folder_is_empty(o.path) || fs::exists(fs::path(o.path) / o.kind.detail, ec),
                  o.what, " '", o.path, "' is a folder with other content (no ", o.kind.detail,
                  " of an earlier run of this command), and this command may delete or replace "
                  "what is in it; choose a new or empty folder, or pass --force to use it anyway");
    }
  }
}

}  // namespace hcmsn::io
