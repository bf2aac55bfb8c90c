#include "hcmsn/experiment/grid.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "hcmsn/metrics/protocol.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::experiment {
namespace {

// ordered_json keeps the file's order of variants, evaluations and baselines: table rows follow
// it (a dimension sweep 64, 128, 256, 512 would otherwise sort as text).
using Json = nlohmann::ordered_json;

const char* const kKeys[] = {"title",     "train",      "variants", "seeds", "evaluations",
                             "baselines", "checkpoint", "protocol", "ks"};

// Flags the runner sets on every job, and where their value comes from.
const std::map<std::string, std::string>& train_managed() {
  static const std::map<std::string, std::string> flags = {
      {"--out", "the runner puts every run in OUT/runs/<variant>-seed<seed>"},
      {"--seed", "the runner sets it from \"seeds\""},
      {"--resume", "the runner resumes half-finished runs itself"},
      {"--quiet", "the runner sets it"},
      {"--max-steps", "a run stopped early never finishes; shorten it with --epochs"}};
  return flags;
}
const std::map<std::string, std::string>& eval_managed() {
  static const std::map<std::string, std::string> flags = {
      {"--run", "the runner evaluates every run of the grid"},
      {"--checkpoint", "set it once with the grid's \"checkpoint\""},
      {"--json", "the runner writes OUT/evals/<run>/<evaluation>.json"},
      {"--protocol", "set it once with the grid's \"protocol\""},
      {"--k", "set it once with the grid's \"ks\""},
      {"--quiet", "the runner sets it"}};
  return flags;
}
const std::map<std::string, std::string>& baseline_managed() {
  static const std::map<std::string, std::string> flags = {
      {"--json", "the runner writes OUT/baselines/<baseline>/<evaluation>.json"},
      {"--protocol", "set it once with the grid's \"protocol\""},
      {"--k", "set it once with the grid's \"ks\""}};
  return flags;
}

void check_name(const std::string& name, const std::string& where) {
  const bool ok = !name.empty() && name.size() <= 100 && name[0] != '.' &&
                  name.find_first_not_of(
                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789._-+=") == std::string::npos;
  HCMSN_CHECK(ok, where, ": the name \"", name,
              "\" cannot name files; use letters, digits and . _ - + = (not starting with '.')");
}

std::vector<std::string> string_list(const Json& j, const std::string& where,
                                     const std::map<std::string, std::string>& managed) {
  HCMSN_CHECK(j.is_array(), where, " must be a list of arguments (strings), e.g. [\"--no-adv\"]");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) {
    HCMSN_CHECK(j[i].is_string(), where, "[", i, "] is ", j[i].dump(),
                ", not a string; write every argument in quotes, e.g. \"0.01\"");
    const std::string arg = j[i].get<std::string>();
    for (const auto& [flag, reason] : managed) {
      HCMSN_CHECK(arg != flag && arg.rfind(flag + "=", 0) != 0, where, " contains ", flag, ": ",
                  reason, "; remove it");
    }
    out.push_back(arg);
  }
  return out;
}

const Json& object_of(const Json& root, const std::string& key, const std::string& example) {
  HCMSN_CHECK(root.contains(key), "the grid has no \"", key, "\"; add it, e.g. \"", key,
              "\": ", example);
  const Json& j = root.at(key);
  HCMSN_CHECK(j.is_object(), "\"", key, "\" must be an object of named lists, e.g. ", example);
  HCMSN_CHECK(!j.empty(), "\"", key, "\" is empty; give at least one, e.g. ", example);
  return j;
}

std::vector<NamedArgs> named_lists(const Json& root, const std::string& key,
                                   const std::string& example,
                                   const std::map<std::string, std::string>& managed) {
  std::vector<NamedArgs> out;
  for (const auto& [name, args] : object_of(root, key, example).items()) {
    check_name(name, key);
    out.push_back({name, string_list(args, key + "." + name, managed)});
  }
  return out;
}

template <typename T>
std::vector<T> positive_integers(const Json& j, const std::string& key, bool allow_zero) {
  HCMSN_CHECK(j.is_array() && !j.empty(), "\"", key,
              "\" must be a non-empty list of integers, e.g. [0, 1, 2]");
  std::vector<T> out;
  for (const auto& v : j) {
    const bool integer = v.is_number_integer() && (v.is_number_unsigned() || v.get<int64_t>() >= 0);
    HCMSN_CHECK(integer && (allow_zero || v.get<int64_t>() > 0), "\"", key, "\" holds ", v.dump(),
                "; give ", allow_zero ? "non-negative" : "positive", " integers");
    const T value = v.get<T>();
    HCMSN_CHECK(std::find(out.begin(), out.end(), value) == out.end(), "\"", key, "\" lists ",
                value, " twice; give each once");
    out.push_back(value);
  }
  return out;
}

// "--curvature" of "--curvature" and "--curvature=0"; "" for a value.
std::string flag_of(const std::string& arg) {
  if (arg.rfind("--", 0) != 0) return "";
  return arg.substr(0, arg.find('='));
}

// hcmsn train takes most flags once: a variant cannot override a common flag, only add to it.
void check_no_repeated_flags(const std::vector<std::string>& common, const NamedArgs& variant) {
  std::set<std::string> flags;
  for (const auto& a : common) flags.insert(flag_of(a));
  for (const auto& a : variant.args) {
    const std::string flag = flag_of(a);
    HCMSN_CHECK(flag.empty() || !flags.count(flag), "variants.", variant.name, " repeats ", flag,
                " of \"train\"; hcmsn train takes it once: move it out of \"train\" into every "
                "variant that needs it");
  }
}

// JSON objects silently keep one of two equal keys; a grid must not (two variants of one name).
Json parse_rejecting_duplicates(const std::string& text) {
  struct Level {
    std::set<std::string> keys;
    std::string name;
  };
  std::vector<Level> levels;
  std::string last_key;
  const Json::parser_callback_t check = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        levels.push_back({{}, last_key});
        break;
      case Json::parse_event_t::object_end:
        if (!levels.empty()) levels.pop_back();
        break;
      case Json::parse_event_t::key: {
        last_key = parsed.get<std::string>();
        HCMSN_ASSERT(!levels.empty(), "a JSON key outside an object");
        const std::string& in = levels.back().name;
        HCMSN_CHECK(levels.back().keys.insert(last_key).second,
                    in.empty() ? std::string("the grid") : "\"" + in + "\"", " has \"", last_key,
                    "\" twice; names must be unique");
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text, check);
  } catch (const Json::parse_error& e) {
    HCMSN_CHECK(false, "the grid is not valid JSON: ", e.what());
  }
  return {};
}

}  // namespace

ExperimentGrid parse_grid(const std::string& json_text) {
  const Json root = parse_rejecting_duplicates(json_text);
  HCMSN_CHECK(root.is_object(),
              "the grid must be a JSON object with \"train\", \"variants\", "
              "\"seeds\" and \"evaluations\"");
  for (const auto& [key, value] : root.items()) {
    const bool known = std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
    HCMSN_CHECK(known, "unknown key \"", key,
                "\" in the grid; the keys are title, train, variants, seeds, evaluations, "
                "baselines, checkpoint, protocol and ks");
  }
  ExperimentGrid grid;
  if (root.contains("title")) {
    HCMSN_CHECK(root["title"].is_string(), "\"title\" must be a string");
    grid.title = root["title"].get<std::string>();
  }
  HCMSN_CHECK(root.contains("train"),
              "the grid has no \"train\": give the hcmsn train arguments "
              "of every run (data, semantics, split, epochs)");
  grid.train = string_list(root["train"], "train", train_managed());
  HCMSN_CHECK(!grid.train.empty(),
              "\"train\" is empty: give the hcmsn train arguments of every "
              "run (data, semantics, split, epochs)");
  grid.variants = named_lists(
      root, "variants", R"({"hcmsn": [], "euclidean": ["--curvature", "0"]})", train_managed());
  for (const auto& v : grid.variants) check_no_repeated_flags(grid.train, v);
  HCMSN_CHECK(root.contains("seeds"), "the grid has no \"seeds\"; add e.g. \"seeds\": [0, 1, 2]");
  grid.seeds = positive_integers<uint64_t>(root["seeds"], "seeds", /*allow_zero=*/true);
  grid.evaluations =
      named_lists(root, "evaluations", R"({"standard": [], "generalised": ["--gallery", "all"]})",
                  eval_managed());
  std::set<std::string> evaluation_names;
  for (const auto& e : grid.evaluations) evaluation_names.insert(e.name);

  if (root.contains("baselines")) {
    const Json& baselines = root["baselines"];
    HCMSN_CHECK(baselines.is_object(),
                "\"baselines\" must be an object: a name per baseline, "
                "then hcmsn eval-features arguments per evaluation");
    for (const auto& [name, per_eval] : baselines.items()) {
      check_name(name, "baselines");
      const std::string where = "baselines." + name;
      HCMSN_CHECK(per_eval.is_object() && !per_eval.empty(), where,
                  " must map evaluation names to hcmsn eval-features arguments, e.g. "
                  "{\"standard\": [\"--features\", \"f.hfc\", \"--split\", \"quickdraw30\"]}");
      Baseline b{name, {}};
      // In the grid's order of evaluations, whatever the order in the baseline.
      for (const auto& e : grid.evaluations) {
        if (per_eval.contains(e.name)) {
          b.per_evaluation.push_back(
              {e.name, string_list(per_eval.at(e.name), where + "." + e.name, baseline_managed())});
          HCMSN_CHECK(!b.per_evaluation.back().args.empty(), where, ".", e.name,
                      " is empty; eval-features needs at least --features");
        }
      }
      for (const auto& [evaluation, args] : per_eval.items()) {
        HCMSN_CHECK(evaluation_names.count(evaluation), where, " names the evaluation \"",
                    evaluation, "\", which \"evaluations\" does not have");
      }
      for (const auto& v : grid.variants) {
        HCMSN_CHECK(v.name != name, "\"", name,
                    "\" is both a variant and a baseline; rename one (they share the tables)");
      }
      grid.baselines.push_back(std::move(b));
    }
  }
  if (root.contains("checkpoint")) {
    const Json& c = root["checkpoint"];
    HCMSN_CHECK(c.is_string() && (c == "best" || c == "last"),
                "\"checkpoint\" must be \"best\" or \"last\", not ", c.dump());
    grid.checkpoint = c.get<std::string>();
  }
  if (root.contains("protocol")) {
    HCMSN_CHECK(root["protocol"].is_string(), "\"protocol\" must be a string, e.g. \"standard\"");
    grid.protocol = root["protocol"].get<std::string>();
    try {
      metrics::Protocol::parse(grid.protocol);
    } catch (const Error& e) {
      HCMSN_CHECK(false, "\"protocol\": ", e.what());
    }
  }
  if (root.contains("ks")) grid.ks = positive_integers<int64_t>(root["ks"], "ks", false);
  return grid;
}

ExperimentGrid read_grid(const std::string& path) {
  const std::string text = util::read_file(path);
  try {
    return parse_grid(text);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

}  // namespace hcmsn::experiment
