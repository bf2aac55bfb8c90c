#include "hcmsn/experiment/runner.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "hcmsn/experiment/job_plan.h"
#include "hcmsn/experiment/summary_report.h"
#include "hcmsn/train/run_config.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/interrupt.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/progress.h"
#include "hcmsn/util/subprocess.h"
#include "hcmsn/util/threads.h"

namespace hcmsn::experiment {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

using util::seconds_since;

void write_json_atomic(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  util::write_file_atomic(path, text);
}

// What a job's record (OUT/jobs/...) says: the grid's arguments it ran with and whether it
// finished, with its duration for the ETA of later invocations.
struct Record {
  bool exists = false;
  bool finished = false;
  std::vector<std::string> grid_args;
  double seconds = 0.0;
};

Record read_record(const std::string& path) {
  Record r;
  if (!fs::exists(path)) return r;
  try {
    const auto j = nlohmann::json::parse(util::read_file(path));
    r.grid_args = j.at("grid_args").get<std::vector<std::string>>();
    r.finished = j.at("finished").get<bool>();
    r.seconds = j.value("seconds", 0.0);
    r.exists = true;
  } catch (const nlohmann::json::exception& e) {
    HCMSN_CHECK(false, "the job record ", path, " is damaged (", e.what(),
                "); delete it and run again");
  }
  return r;
}

void write_record(const Job& job, bool finished, double seconds) {
  const nlohmann::json j = {
      {"job", job.id}, {"grid_args", job.grid_args}, {"finished", finished}, {"seconds", seconds}};
  write_json_atomic(job.record, j.dump(2) + "\n");
}

// A training exits with 0 also when a signal stopped it early: only its log says whether it ran
// every epoch.
bool training_complete(const std::string& run, std::string& why) {
  int64_t epochs = 0;
  try {
    epochs = train::read_run_config(run).trainer.epochs;
  } catch (const Error& e) {
    why = e.what();
    return false;
  }
  int64_t last = 0;
  std::ifstream in(train::log_path(run));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    try {
      last = nlohmann::json::parse(line).value("epoch", last);
    } catch (const nlohmann::json::exception&) {
      // A line cut short by a crash: the epochs before it still count.
    }
  }
  if (last >= epochs) return true;
  why = fmt::format("its log ends at epoch {} of {}", last, epochs);
  return false;
}

// The last "error: ..." line of a log (what the failed command said), or its last line.
std::string last_error_line(const std::string& log) {
  std::ifstream in(log);
  std::string line, last, error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.rfind("error:", 0) == 0) error = line;
  }
  return error.empty() ? last : error;
}

enum class Action { kSkip, kRun, kResume, kRestart };
enum class State { kPending, kRunning, kDone, kSkipped, kFailed, kStopped };

// Whether each job runs, and how, from the records of earlier invocations.
std::vector<Action> decide_actions(const std::vector<Job>& jobs) {
  std::vector<Action> actions(jobs.size(), Action::kRun);
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    const Record record = read_record(job.record);
    const bool same_args = record.exists && record.grid_args == job.grid_args;
    if (job.kind != JobKind::kTrain) {
      const bool run_kept = job.train_job < 0 || actions[job.train_job] == Action::kSkip;
      actions[i] = same_args && record.finished && fs::exists(job.output) && run_kept
                       ? Action::kSkip
                       : Action::kRun;
      continue;
    }
    const bool has_run = fs::exists(train::config_path(job.output));
    if (has_run && record.exists && !same_args) {
      HCMSN_CHECK(false, job.output, " was trained with other arguments (",
                  util::shell_quote(record.grid_args), ") than the grid now gives (",
                  util::shell_quote(job.grid_args),
                  "); delete that folder to train it again, or "
                  "restore the grid");
    }
    HCMSN_CHECK(!has_run || record.exists, job.output,
                " holds a run that this experiment did not start; delete it or choose another "
                "--out");
    if (has_run && record.finished) {
      actions[i] = Action::kSkip;
    } else if (has_run) {
      actions[i] =
          fs::exists(train::last_checkpoint_path(job.output)) ? Action::kResume : Action::kRestart;
    } else {
      actions[i] = fs::exists(job.output) ? Action::kRestart : Action::kRun;
    }
  }
  return actions;
}

// The duration estimate behind the ETA: trainings and evaluations are timed apart.
class Eta {
 public:
  void add(const Job& job, double seconds) {
    auto& s = kind(job);
    s.first += seconds;
    s.second += 1;
  }
  /// Seconds expected for a job (NaN when no job of its kind has been timed yet).
  double expected(const Job& job) const {
    const auto& s = kind_const(job);
    return s.second > 0 ? s.first / s.second : std::numeric_limits<double>::quiet_NaN();
  }

 private:
  std::pair<double, int>& kind(const Job& job) {
    return job.kind == JobKind::kTrain ? train_ : eval_;
  }
  const std::pair<double, int>& kind_const(const Job& job) const {
    return job.kind == JobKind::kTrain ? train_ : eval_;
  }
  std::pair<double, int> train_{0.0, 0}, eval_{0.0, 0};
};

class Runner {
 public:
  Runner(std::vector<Job> jobs, const RunnerOptions& options)
      : jobs_(std::move(jobs)),
        options_(options),
        state_(jobs_.size(), State::kPending),
        tty_(!options.quiet && isatty(STDERR_FILENO) != 0) {
    executable_ = options.executable.empty() ? util::current_executable() : options.executable;
    if (options.jobs > 1 && std::getenv("HCMSN_THREADS") == nullptr) {
      threads_ = std::max(1, util::available_cores() / options.jobs);
    }
  }

  ~Runner() {
    // Only reached with running jobs when something threw: do not leave children or threads.
    for (auto& [i, r] : running_) {
      util::terminate_process(r.child);
      if (r.waiter.joinable()) r.waiter.join();
    }
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  /// Decides what each job does; throws before anything runs when the records forbid it.
  void prepare() { actions_ = decide_actions(jobs_); }

  void run() {
    HCMSN_ASSERT(actions_.size() == jobs_.size(), "Runner::run before prepare");
    for (size_t i = 0; i < jobs_.size(); ++i) {
      const Record record = read_record(jobs_[i].record);
      if (actions_[i] == Action::kSkip) {
        state_[i] = State::kSkipped;
        if (record.seconds > 0) eta_.add(jobs_[i], record.seconds);
        print_line(fmt::format("skip   {} (finished before)", jobs_[i].id));
      }
    }
    schedule();
    clear_status();
    if (!failure_.empty()) throw Error(failure_);
    if (interrupted_) {
      throw Error(fmt::format(
          "interrupted with {} of {} jobs finished; run the same command again to resume "
          "(finished jobs are kept, half-trained runs continue from their last checkpoint)",
          count(State::kDone) + count(State::kSkipped), jobs_.size()));
    }
  }

 private:
  struct Running {
    util::ChildProcess child;
    Clock::time_point start;
    std::thread waiter;
  };

  size_t count(State s) const { return std::count(state_.begin(), state_.end(), s); }

  bool ready(size_t i) const {
    if (state_[i] != State::kPending) return false;
    const int t = jobs_[i].train_job;
    return t < 0 || state_[t] == State::kDone || state_[t] == State::kSkipped;
  }

  void schedule() {
    const size_t slots = static_cast<size_t>(std::max(1, options_.jobs));
    while (true) {
      if (util::interrupt_requested() && !interrupted_) stop_on_interrupt();
      for (size_t i = 0; i < jobs_.size() && !stopping_ && running_.size() < slots; ++i) {
        if (ready(i)) start(i);
      }
      if (running_.empty()) break;
      std::vector<std::pair<size_t, int>> ended;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ended_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return !ended_.empty(); });
        ended.swap(ended_);
      }
      for (const auto& [i, exit_code] : ended) finish(i, exit_code);
      draw_status();
    }
    // Nothing runs and nothing can start: either stopped, or every job is settled.
    HCMSN_ASSERT(stopping_ || count(State::kPending) == 0, count(State::kPending),
                 " jobs left pending with nothing running");
  }

  void stop_on_interrupt() {
    interrupted_ = stopping_ = true;
    clear_status();
    if (running_.empty()) {
      util::log_warn("interrupted: starting no more jobs");
    } else {
      util::log_warn(
          "interrupted: asking the {} running job(s) to stop (trainings save a "
          "checkpoint first)",
          running_.size());
    }
    for (auto& [i, r] : running_) util::terminate_process(r.child);
  }

  void start(size_t i) {
    const Job& job = jobs_[i];
    try {
      std::vector<std::string> args = job.args;
      if (actions_[i] == Action::kResume) {
        args = resume_args(job);
        if (!options_.quiet) util::log_info("{}: resuming from its last checkpoint", job.id);
      } else if (actions_[i] == Action::kRestart) {
        // Started before but never reached a checkpoint: nothing in it is worth keeping.
        fs::remove_all(job.output);
      }
      write_record(job, false, 0.0);
      if (job.kind != JobKind::kTrain) fs::remove(job.output);
      if (job.kind == JobKind::kTrain) {
        // Evaluations of the old weights of this run are stale from now on.
        for (const Job& other : jobs_) {
          if (other.train_job == static_cast<int>(i)) fs::remove(other.record);
        }
      }
      fs::create_directories(fs::path(job.log).parent_path());
      fs::create_directories(fs::path(job.output).parent_path());
      std::vector<std::string> argv = {executable_, "--log-level", "info"};
      if (threads_ > 0) argv.insert(argv.end(), {"--threads", std::to_string(threads_)});
      argv.insert(argv.end(), args.begin(), args.end());
      {
        std::ofstream log(job.log, std::ios::app);
        const std::time_t now = std::time(nullptr);
        char when[32];
        std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
        log << "=== " << when << ": " << util::shell_quote(argv) << "\n";
      }
      Running r;
      r.child = util::start_logged_process(argv, job.log);
      r.start = Clock::now();
      const util::ChildProcess child = r.child;
      r.waiter = std::thread([this, i, child] {
        const int code = util::wait_for_process(child);
        std::lock_guard<std::mutex> lock(mutex_);
        ended_.emplace_back(i, code);
        ended_cv_.notify_one();
      });
      state_[i] = State::kRunning;
      running_.emplace(i, std::move(r));
    } catch (const Error& e) {
      fail(i, fmt::format("cannot start job '{}': {}", job.id, e.what()));
    }
  }

  void finish(size_t i, int exit_code) {
    Running r = std::move(running_.at(i));
    running_.erase(i);
    r.waiter.join();
    const Job& job = jobs_[i];
    const double seconds = seconds_since(r.start);
    std::string why;
    bool ok = exit_code == 0;
    if (ok && job.kind == JobKind::kTrain) {
      ok = training_complete(job.output, why);
    } else if (ok && !fs::exists(job.output)) {
      ok = false;
      why = "it wrote no " + job.output;
    }
    if (ok) {
      write_record(job, true, seconds);
      state_[i] = State::kDone;
      eta_.add(job, seconds);
      print_line(fmt::format(
          "done   {} in {} | elapsed {} | ETA {}", job.id, util::format_duration(seconds),
          util::format_duration(seconds_since(start_)), util::format_duration(eta_seconds())));
      return;
    }
    if (interrupted_) {
      state_[i] = State::kStopped;
      print_line(fmt::format("stopped {} after {}", job.id, util::format_duration(seconds)));
      return;
    }
    if (why.empty()) {
      why = fmt::format("exit code {}: {}", exit_code, last_error_line(job.log));
    }
    fail(i, fmt::format("job '{}' failed ({}); its log: {}", job.id, why, job.log));
  }

  void fail(size_t i, std::string message) {
    state_[i] = State::kFailed;
    if (failure_.empty()) failure_ = std::move(message);
    if (!stopping_ && !running_.empty()) {
      clear_status();
      util::log_warn("a job failed; waiting for the {} running job(s) to finish", running_.size());
    }
    stopping_ = true;
  }

  // Remaining work: expected durations of pending jobs plus what is left of running ones,
  // spread over the parallel slots.
  double eta_seconds() const {
    double total = 0.0;
    size_t left = 0;
    for (size_t i = 0; i < jobs_.size(); ++i) {
      if (state_[i] != State::kPending && state_[i] != State::kRunning) continue;
      const double expected = eta_.expected(jobs_[i]);
      if (!(expected >= 0)) return std::numeric_limits<double>::quiet_NaN();
      const auto it = running_.find(i);
      total += it == running_.end() ? expected
                                    : std::max(0.0, expected - seconds_since(it->second.start));
      ++left;
    }
    const size_t slots = std::min<size_t>(std::max(1, options_.jobs), std::max<size_t>(left, 1));
    return total / static_cast<double>(slots);
  }

  void print_line(const std::string& text) {
    if (options_.quiet) return;
    clear_status();
    ++reported_;
    const int width = static_cast<int>(std::to_string(jobs_.size()).size());
    std::fprintf(stderr, "[%*zu/%zu] %s\n", width, reported_, jobs_.size(), text.c_str());
    std::fflush(stderr);
  }

  // On a terminal, one redrawn line with the running jobs.
  void draw_status() {
    if (!tty_ || running_.empty()) return;
    std::string text;
    for (const auto& [i, r] : running_) {
      text += fmt::format("{}{} {}", text.empty() ? "" : ", ", jobs_[i].id,
                          util::format_duration(seconds_since(r.start)));
    }
    std::fprintf(stderr, "\r\033[Krunning: %s | elapsed %s | ETA %s", text.c_str(),
                 util::format_duration(seconds_since(start_)).c_str(),
                 util::format_duration(eta_seconds()).c_str());
    std::fflush(stderr);
    status_shown_ = true;
  }

  void clear_status() {
    if (!status_shown_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    status_shown_ = false;
  }

  std::vector<Job> jobs_;
  RunnerOptions options_;
  std::vector<Action> actions_;
  std::vector<State> state_;
  std::string executable_;
  int threads_ = 0;
  bool tty_ = false;
  bool status_shown_ = false;
  bool stopping_ = false;
  bool interrupted_ = false;
  std::string failure_;
  size_t reported_ = 0;
  Eta eta_;
  Clock::time_point start_ = Clock::now();
  std::map<size_t, Running> running_;
  std::mutex mutex_;
  std::condition_variable ended_cv_;
  std::vector<std::pair<size_t, int>> ended_;
};

}  // namespace

ExperimentSummary summarise_experiment(const ExperimentGrid& grid, const std::string& out_dir) {
  const std::vector<Job> jobs = plan_jobs(grid, out_dir);
  ExperimentSummary summary;
  summary.title = grid.title;
  summary.checkpoint = grid.checkpoint;
  summary.seeds = grid.seeds;
  const auto read_result = [](const Job& job) {
    HCMSN_CHECK(fs::exists(job.output), "no result of ", job.id, ": ", job.output,
                " is missing; run hcmsn experiment to make it");
    try {
      return nlohmann::json::parse(util::read_file(job.output));
    } catch (const nlohmann::json::exception& e) {
      HCMSN_CHECK(false, job.output, " is not valid JSON (", e.what(), "); delete it and rerun");
    }
    return nlohmann::json();
  };
  for (const NamedArgs& e : grid.evaluations) {
    std::vector<RowResults> rows;
    // Baselines first, then variants; within a variant the grid's order of seeds.
    const auto row_of = [&](const std::string& name, bool baseline) -> RowResults& {
      for (auto& r : rows) {
        if (r.name == name && r.baseline == baseline) return r;
      }
      rows.push_back({name, baseline, {}, {}});
      return rows.back();
    };
    for (const Baseline& b : grid.baselines) {
      for (const Job& job : jobs) {
        if (job.kind == JobKind::kBaseline && job.row == b.name && job.evaluation == e.name) {
          RowResults& row = row_of(b.name, true);
          row.labels.push_back(b.name);
          row.results.push_back(read_result(job));
        }
      }
    }
    for (const NamedArgs& v : grid.variants) {
      for (uint64_t seed : grid.seeds) {
        for (const Job& job : jobs) {
          if (job.kind == JobKind::kEval && job.row == v.name && job.seed == seed &&
              job.evaluation == e.name) {
            RowResults& row = row_of(v.name, false);
            row.labels.push_back("seed" + std::to_string(seed));
            row.results.push_back(read_result(job));
          }
        }
      }
    }
    summary.evaluations.push_back(summarise_evaluation(e.name, rows));
  }
  return summary;
}

ExperimentSummary run_experiment(const ExperimentGrid& grid, const std::string& grid_text,
                                 const RunnerOptions& options) {
  HCMSN_CHECK(!options.out_dir.empty(), "give the experiment's folder with --out");
  HCMSN_CHECK(options.jobs >= 1, "--jobs must be at least 1, got ", options.jobs);
  Runner runner(plan_jobs(grid, options.out_dir), options);
  runner.prepare();
  fs::create_directories(options.out_dir);
  util::write_file_atomic((fs::path(options.out_dir) / "grid.json").string(), grid_text);
  util::install_interrupt_handler();
  runner.run();

  const ExperimentSummary summary = summarise_experiment(grid, options.out_dir);
  const fs::path out(options.out_dir);
  util::write_file_atomic((out / "summary.json").string(), to_json(summary).dump(2) + "\n");
  util::write_file_atomic((out / "summary.md").string(), to_markdown(summary));
  write_summary_report((out / "report.html").string(), summary);
  if (!options.quiet) {
    util::log_info("wrote {}, summary.md and report.html", (out / "summary.json").string());
  }
  return summary;
}

}  // namespace hcmsn::experiment
