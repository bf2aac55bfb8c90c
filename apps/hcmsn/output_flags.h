// The flags every writing command shares, with one meaning and one help text everywhere:
//
//   --json FILE   the command's result as JSON to FILE; '-' writes it to standard output, which
//                 then carries only the JSON (the human-readable table goes to standard error),
//                 so `hcmsn ... --json - | jq` works.
//   --force       replace an existing output file that holds another kind of content (an image,
//                 weights, a checkpoint, ...); it never allows writing over an input, inside a
//                 folder the command reads, or two outputs on one path (io/output_guard.h).
#pragma once

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace hcmsn::cli {

/// Adds `flag` FILE|- (normally "--json") for `what` ("the results", "the summary").
void add_json_option(CLI::App* cmd, std::string& path, const std::string& what,
                     const std::string& flag = "--json");

/// Adds --force; `replaces` says which outputs it may replace ("an existing --json FILE").
void add_force_flag(CLI::App* cmd, bool& force, const std::string& replaces);

/// Where the human-readable output goes: standard error when the JSON claims standard output
/// (`json_path` is "-"), else standard output.
std::ostream& human_output(const std::string& json_path);

/// Writes `value` (indented) to `path`: standard output for "-", else the file, atomically. An
/// empty path writes nothing.
void write_json_output(const std::string& path, const nlohmann::json& value);

}  // namespace hcmsn::cli
