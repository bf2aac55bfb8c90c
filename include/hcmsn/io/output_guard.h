// The checks a command runs on its output paths before it does any work, so that it fails in a
// second rather than after minutes of computation, and never destroys what it was given: a
// mistyped `--json a.jpg` must not replace a photo, `--json R/best.ckpt` a trained run.
//
// A command declares what it reads (input: files, and folders whose contents it reads such as a
// run folder or a dataset root) and what it writes (output: a path and the kind of content), then
// calls check(), which throws hcmsn::Error on the first broken rule, naming the flag and the path
// and saying what to do. The rules, in the order they are checked:
//
//   1. "-" means standard output, for outputs declared with output_or_stdout() only; at most one
//      output may go there. An empty path is an output or input not asked for and is skipped.
//   2. No output is an input, lies inside an input folder, or is a folder that the command owns
//      (see below) with an input inside it. Always refused, --force or not.
//   3. No two outputs share a path. Always refused.
//   4. A file output that is an existing folder, or a folder output that is an existing file:
//      always refused.
//   5. An existing file is replaced only by content of its own kind, told from its first bytes
//      (io/file_content.h): JSON over JSON, .npy over .npy, HTML over HTML, SVG over SVG, PNG
//      over PNG, an hcmsn file over an hcmsn file of the same kind, text over plain text only
//      (not over JSON, HTML or SVG, which text outputs never are). An empty file may be replaced
//      by anything. Anything else (an image, weights, a checkpoint, another hcmsn kind, unknown
//      bytes, a file that cannot be read) is refused unless `force`.
//   6. A folder the command owns (OutputKind::owned_folder: one it may delete or refill, such as
//      a run folder or a resume folder) must be missing, empty, or hold its marker file, which
//      the command leaves there, i.e. have been written by it before; otherwise refused unless
//      `force`. A plain output folder (OutputKind::folder) may hold anything: the files the
//      command writes into it are declared as outputs of their own.
//
// Paths are compared after std::filesystem::weakly_canonical (relative paths against the working
// directory, "." and ".." removed, symlinks resolved), and two existing paths are also the same
// when they are the same file (device and inode: hard links, bind mounts).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hcmsn::io {

/// What an output path receives.
struct OutputKind {
  enum class Content { kJson, kNpy, kText, kHtml, kSvg, kPng, kHcmsn, kFolder, kOwnedFolder };
  Content content = Content::kJson;
  std::string detail;  // kHcmsn: the checked-file kind; kOwnedFolder: the marker file name

  static OutputKind json() { return {Content::kJson, ""}; }
  static OutputKind npy() { return {Content::kNpy, ""}; }
  /// Plain text: label lists, TSV, logs.
  static OutputKind text() { return {Content::kText, ""}; }
  static OutputKind html() { return {Content::kHtml, ""}; }
  static OutputKind svg() { return {Content::kSvg, ""}; }
  static OutputKind png() { return {Content::kPng, ""}; }
  /// An hcmsn checked file (io/checked_file.h) of this kind: "gallery", "feature-cache", ...
  static OutputKind hcmsn_file(std::string kind) { return {Content::kHcmsn, std::move(kind)}; }
  /// A folder the command creates when missing and writes declared files into.
  static OutputKind folder() { return {Content::kFolder, ""}; }
  /// A folder the command may empty or delete: allowed when missing, empty or holding `marker`.
  static OutputKind owned_folder(std::string marker) {
    return {Content::kOwnedFolder, std::move(marker)};
  }
};

/// For messages: "JSON", "a NumPy .npy array", "an hcmsn gallery file", "a folder".
std::string describe(const OutputKind& kind);

/// True for "-", the path that means standard output.
inline bool is_stdout_path(const std::string& path) {
  return path == "-";
}

class OutputGuard {
 public:
  /// `force`: replace existing files of another kind (rules 5 and 6); never lifts rules 1 to 4.
  explicit OutputGuard(bool force = false) : force_(force) {}

  /// A file the command reads, or a folder whose contents it reads (nothing may be written inside
  /// it). `what` names it in messages: a flag ("--weights") or a description ("image"). An empty
  /// path is skipped; a missing one is compared by its path.
  OutputGuard& input(const std::string& what, const std::string& path);
  OutputGuard& inputs(const std::string& what, const std::vector<std::string>& paths);

  /// A path the command writes; "-" is refused (use output_or_stdout for that).
  OutputGuard& output(const std::string& what, const std::string& path, OutputKind kind);
  /// A path the command writes, or "-" for standard output.
  OutputGuard& output_or_stdout(const std::string& what, const std::string& path, OutputKind kind);

  /// Throws hcmsn::Error on the first broken rule (see the top of this header).
  void check() const;

 private:
  struct Entry {
    std::string what, path;
    OutputKind kind;
    bool stdout_allowed = false;
  };
  bool force_;
  std::vector<Entry> inputs_, outputs_;
};

}  // namespace hcmsn::io
