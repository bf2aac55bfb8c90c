#include "hcmsn/train/fusion_folds.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hcmsn/train/run_loader.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"

namespace hcmsn::train {

FoldRule parse_fold_rule(const std::string& name) {
  if (name == "best") return FoldRule::kBest;
  HCMSN_CHECK(name == "one-se", "unknown fold rule '", name, "': use best or one-se");
  return FoldRule::kOneStandardError;
}

std::string to_string(FoldRule rule) {
  return rule == FoldRule::kBest ? "best" : "one-se";
}

FoldWeighting parse_fold_weighting(const std::string& name) {
  if (name == "uniform") return FoldWeighting::kUniform;
  HCMSN_CHECK(name == "match-unseen", "unknown fold weighting '", name,
              "': use uniform or match-unseen");
  return FoldWeighting::kMatchUnseen;
}

std::string to_string(FoldWeighting weighting) {
  return weighting == FoldWeighting::kUniform ? "uniform" : "match-unseen";
}

nlohmann::json FoldedFusionChoice::to_json() const {
  nlohmann::json grid_json = nlohmann::json::array();
  for (size_t g = 0; g < grid.size(); ++g) {
    nlohmann::json per_run = nlohmann::json::array();
    for (const auto& run : scores) per_run.push_back(run[g].score());
    grid_json.push_back({{"weights", model::to_string(grid[g])},
                         {"map_standard", mean[g].map_standard},
                         {"map_generalised", mean[g].map_generalised},
                         {"score", mean[g].score()},
                         {"run_scores", per_run}});
  }
  nlohmann::json runs_json = nlohmann::json::array();
  for (size_t r = 0; r < runs.size(); ++r) {
    runs_json.push_back(
        {{"run", runs[r]},
         {"validation_classes",
          r < validation_classes.size() ? validation_classes[r] : std::vector<std::string>{}}});
  }
  return {{"weights", model::to_string(weights())},
          {"score", mean[chosen].score()},
          {"rule", to_string(rule)},
          {"weighting", to_string(weighting)},
          {"class_weights", class_weights},
          {"best_weights", model::to_string(grid[best])},
          {"best_score", mean[best].score()},
          {"standard_error", standard_error},
          {"runs", runs_json},
          {"grid", grid_json}};
}

FoldedFusionChoice choose_over_folds(std::vector<model::FusionWeights> grid,
                                     std::vector<std::vector<FusionScore>> scores, FoldRule rule) {
  HCMSN_CHECK(!scores.empty(), "choosing fusion weights over folds needs at least one run");
  HCMSN_CHECK(!grid.empty(), "the fusion grid is empty");
  for (const auto& run : scores) {
    HCMSN_CHECK(run.size() == grid.size(), "a run scored ", run.size(), " triples of a grid of ",
                grid.size());
  }
  FoldedFusionChoice choice;
  choice.grid = std::move(grid);
  choice.scores = std::move(scores);
  const double runs = static_cast<double>(choice.scores.size());
  for (size_t g = 0; g < choice.grid.size(); ++g) {
    FusionScore m;
    for (const auto& run : choice.scores) {
      m.map_standard += run[g].map_standard / runs;
      m.map_generalised += run[g].map_generalised / runs;
    }
    choice.mean.push_back(m);
    if (m.score() > choice.mean[choice.best].score()) choice.best = g;
  }
  choice.rule = rule;
  choice.chosen = choice.best;
  if (rule == FoldRule::kBest || choice.scores.size() < 2) return choice;
  double sum = 0, sum_sq = 0;
  for (const auto& run : choice.scores) {
    sum += run[choice.best].score();
    sum_sq += run[choice.best].score() * run[choice.best].score();
  }
  const double variance = std::max(0.0, (sum_sq - sum * sum / runs) / (runs - 1.0));
  choice.standard_error = std::sqrt(variance / runs);
  const double floor = choice.mean[choice.best].score() - choice.standard_error;
  for (size_t g = 0; g < choice.grid.size(); ++g) {
    if (choice.mean[g].score() < floor) continue;
    const double b = choice.grid[g].backbone, chosen_b = choice.grid[choice.chosen].backbone;
    if (b > chosen_b ||
        (b == chosen_b && choice.mean[g].score() > choice.mean[choice.chosen].score())) {
      choice.chosen = g;
    }
  }
  return choice;
}

namespace {

// Rows of the runs' data sources, read once: fold runs normally share one.
using RowsByData = std::map<std::string, TrainingSet>;

// kMatchUnseen's weight of every class the runs hold out (train/class_importance.h): the
// target is the runs' unseen list, the teacher's concepts come from the first run's network.
ClassWeights unseen_matching_weights(const std::vector<std::string>& run_dirs,
                                     model::RetrievalNetworkImpl& first_network,
                                     const ImportanceOptions& importance) {
  std::vector<std::string> pool, unseen;
  for (size_t r = 0; r < run_dirs.size(); ++r) {
    const RunConfig config = read_run_config(run_dirs[r]);
    if (r == 0) unseen = config.unseen_classes;
    HCMSN_CHECK(config.unseen_classes == unseen, "run ", run_dirs[r],
                " has another unseen list than ", run_dirs.front(),
                ": --fold-weighting match-unseen weighs the folds of one split");
    for (const auto& c : config.validation_classes) {
      if (std::find(pool.begin(), pool.end(), c) == pool.end()) pool.push_back(c);
    }
  }
  const auto* transfer = first_network.hcmsn()->transfer();
  HCMSN_CHECK(transfer != nullptr && transfer->has_teacher(), "run ", run_dirs.front(),
              " has no teacher: --fold-weighting match-unseen measures teacher similarity, so "
              "train the folds with --teacher-concepts");
  const ClassSemantics semantics = read_run_semantics(run_dirs.front());
  return match_teacher_similarity(semantics.class_names, semantics.embeddings, transfer->concepts(),
                                  pool, unseen, importance);
}

FoldedFusionChoice select_fusion_with_rows(const std::vector<std::string>& run_dirs,
                                           const FoldSelectionOptions& options,
                                           RowsByData& rows_by_data) {
  HCMSN_CHECK(!run_dirs.empty(), "give the fold runs to choose fusion weights over");
  std::vector<model::FusionWeights> grid = model::fusion_grid(static_cast<int>(options.grid_steps));
  for (auto& w : grid) w.hyperbolic_scale = 1.0;
  std::vector<std::vector<FusionScore>> scores;
  std::vector<std::vector<std::string>> validation;
  ClassWeights class_weights;
  for (const auto& dir : run_dirs) {
    LoadedRun run = load_run(dir, options.checkpoint);
    HCMSN_CHECK(run.config.model.fused_embedding(), "run ", dir,
                " has no fused embedding: train the folds with --fusion");
    HCMSN_CHECK(!run.config.validation_classes.empty(), "run ", dir,
                " holds no validation classes out: train it with --val-folds K --val-fold F");
    if (options.weighting == FoldWeighting::kMatchUnseen && class_weights.empty()) {
      class_weights = unseen_matching_weights(run_dirs, *run.network, options.importance);
    }
    const std::string key = run.config.data.kind + ":" + run.config.data.path;
    auto it = rows_by_data.find(key);
    if (it == rows_by_data.end()) {
      it = rows_by_data
               .emplace(key, load_rows(run.config.data, run.config.backbone, options.progress))
               .first;
    }
    const TrainingSet& all = it->second;
    const auto scored = score_fusion_grid(
        *run.network, all.subset_classes(run.config.validation_classes),
        all.subset_classes(run.config.seen_classes), options.grid_steps, options.batch,
        /*sharding=*/{}, class_weights);
    std::vector<FusionScore> run_scores;
    run_scores.reserve(scored.size());
    for (const auto& s : scored) run_scores.push_back(s.score);
    scores.push_back(std::move(run_scores));
    validation.push_back(run.config.validation_classes);
    if (options.progress) {
      util::log_info("select-fusion: scored {} triples on the {} validation classes of {}",
                     grid.size(), run.config.validation_classes.size(), dir);
    }
  }
  FoldedFusionChoice choice = choose_over_folds(std::move(grid), std::move(scores), options.rule);
  choice.runs = run_dirs;
  choice.validation_classes = std::move(validation);
  choice.weighting = options.weighting;
  choice.class_weights = std::move(class_weights);
  return choice;
}

// A group's folds as a comparable set: each run's held-out classes, sorted.
std::vector<std::vector<std::string>> fold_set(const FoldedFusionChoice& group) {
  std::vector<std::vector<std::string>> folds = group.validation_classes;
  for (auto& classes : folds) std::sort(classes.begin(), classes.end());
  std::sort(folds.begin(), folds.end());
  return folds;
}

}  // namespace

FoldedFusionChoice select_fusion_over_runs(const std::vector<std::string>& run_dirs,
                                           const FoldSelectionOptions& options) {
  RowsByData rows_by_data;
  return select_fusion_with_rows(run_dirs, options, rows_by_data);
}

const std::vector<std::string>& comparable_settings() {
  static const std::vector<std::string> kSettings = {"curvature", "dim"};
  return kSettings;
}

std::string setting_value(const RunConfig& config, const std::string& setting) {
  if (setting == "curvature") return fmt::format("{}", config.model.curvature());
  HCMSN_CHECK(setting == "dim", "unknown setting '", setting, "' to compare: use ",
              fmt::format("{}", fmt::join(comparable_settings(), " or ")));
  return fmt::format("{}", config.model.dim());
}

std::vector<std::string> FoldedSettingChoice::train_flags() const {
  return {"--" + setting, values[chosen], "--fusion-weights", model::to_string(choice().weights())};
}

nlohmann::json FoldedSettingChoice::to_json() const {
  nlohmann::json groups_json = nlohmann::json::array();
  for (size_t g = 0; g < groups.size(); ++g) {
    nlohmann::json group = groups[g].to_json();
    group["value"] = values[g];
    groups_json.push_back(std::move(group));
  }
  const FoldedFusionChoice& c = choice();
  return {{"setting", setting},
          {"value", values[chosen]},
          {"weights", model::to_string(c.weights())},
          {"score", c.mean[c.chosen].score()},
          {"best_weights", model::to_string(c.grid[c.best])},
          {"best_score", c.mean[c.best].score()},
          {"train_flags", train_flags()},
          {"groups", groups_json}};
}

FoldedSettingChoice choose_setting_over_folds(std::string setting, std::vector<std::string> values,
                                              std::vector<FoldedFusionChoice> groups) {
  HCMSN_CHECK(!groups.empty(), "choosing a setting over folds needs at least one group of runs");
  HCMSN_CHECK(values.size() == groups.size(), values.size(), " setting values for ", groups.size(),
              " groups of runs");
  const auto folds = fold_set(groups.front());
  for (size_t g = 1; g < groups.size(); ++g) {
    HCMSN_CHECK(fold_set(groups[g]) == folds, setting, " = ", values[g],
                " was trained on other folds than ", setting, " = ", values.front(),
                ": train every value with the same --val-folds K, each --val-fold F and the same "
                "data, so the values compare on the same held-out classes");
  }
  FoldedSettingChoice result;
  result.setting = std::move(setting);
  result.values = std::move(values);
  result.groups = std::move(groups);
  const auto best_mean = [](const FoldedFusionChoice& c) { return c.mean[c.best].score(); };
  for (size_t g = 1; g < result.groups.size(); ++g) {
    if (best_mean(result.groups[g]) > best_mean(result.groups[result.chosen])) result.chosen = g;
  }
  return result;
}

FoldedSettingChoice select_setting_over_runs(const std::vector<std::string>& run_dirs,
                                             const std::string& setting,
                                             const FoldSelectionOptions& options) {
  HCMSN_CHECK(!run_dirs.empty(), "give the fold runs to choose the ", setting, " over");
  std::vector<std::string> values;
  std::vector<std::vector<std::string>> runs_of_value;
  for (const auto& dir : run_dirs) {
    const std::string value = setting_value(read_run_config(dir), setting);
    const auto it = std::find(values.begin(), values.end(), value);
    if (it == values.end()) {
      values.push_back(value);
      runs_of_value.push_back({dir});
    } else {
      runs_of_value[static_cast<size_t>(it - values.begin())].push_back(dir);
    }
  }
  RowsByData rows_by_data;
  std::vector<FoldedFusionChoice> groups;
  for (size_t g = 0; g < values.size(); ++g) {
    if (options.progress) {
      util::log_info("select-fusion: {} = {}: {} fold run(s)", setting, values[g],
                     runs_of_value[g].size());
    }
    groups.push_back(select_fusion_with_rows(runs_of_value[g], options, rows_by_data));
  }
  return choose_setting_over_folds(setting, std::move(values), std::move(groups));
}

}  // namespace hcmsn::train
