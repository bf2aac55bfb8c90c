#include "hcmsn/train/training_set.h"

#include <ATen/Parallel.h>

#include <map>
#include <unordered_map>

#include "hcmsn/data/class_name.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"

namespace hcmsn::train {
namespace {

std::string join_names(const std::vector<std::string>& names, size_t max_shown = 20) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max_shown; ++i) {
    out += (i ? ", " : "") + names[i];
  }
  if (names.size() > max_shown) out += ", … (" + std::to_string(names.size()) + " in all)";
  return out;
}

std::unordered_map<std::string, int64_t> index_of(const std::vector<std::string>& names) {
  std::unordered_map<std::string, int64_t> index;
  for (size_t i = 0; i < names.size(); ++i) index.emplace(names[i], static_cast<int64_t>(i));
  return index;
}

TrainingSet select(const TrainingSet& set, const torch::Tensor& rows) {
  TrainingSet out;
  if (set.inputs.defined()) out.inputs = set.inputs.index_select(0, rows);
  out.labels = set.labels.index_select(0, rows);
  out.modality = set.modality.index_select(0, rows);
  out.class_names = set.class_names;
  const int64_t* r = rows.data_ptr<int64_t>();
  if (!set.item_ids.empty()) {
    for (int64_t i = 0; i < rows.size(0); ++i) out.item_ids.push_back(set.item_ids[r[i]]);
  }
  if (!set.items.empty()) {
    for (int64_t i = 0; i < rows.size(0); ++i) out.items.push_back(set.items[r[i]]);
  }
  out.source = set.source;
  return out;
}

}  // namespace

torch::Tensor PixelSource::load(const data::DatasetItem& item, bool augment, uint64_t seed) const {
  data::ItemPixelOptions options = pixels;
  options.augment = augment;
  return data::load_item_pixels(item, options, seed, drawings);
}

torch::Tensor TrainingSet::input_slice(int64_t start, int64_t n) const {
  HCMSN_CHECK(start >= 0 && n >= 0 && start + n <= size(), "rows [", start, ", ", start + n,
              ") are out of range for ", size(), " rows");
  if (!is_streamed()) return inputs.narrow(0, start, n);
  const int64_t s = source->pixels.size;
  auto out = torch::empty({n, 3, s, s}, torch::kUInt8);
  std::vector<std::string> errors(static_cast<size_t>(n));
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      try {
        out[i].copy_(source->load(items[static_cast<size_t>(start + i)], false, 0));
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(i)] = e.what();
      }
    }
  });
  for (const auto& e : errors) {
    HCMSN_CHECK(e.empty(), e, " (evaluation needs every item: remove or replace it)");
  }
  return out;
}

void TrainingSet::validate() const {
  HCMSN_CHECK((inputs.defined() || is_streamed()) && labels.defined() && modality.defined(),
              "a training set needs inputs (or streamed items), labels and modality");
  HCMSN_CHECK(labels.dim() == 1 && labels.scalar_type() == torch::kInt64,
              "labels must be an int64 vector, got ", labels.sizes(), " ", labels.scalar_type());
  HCMSN_CHECK(modality.dim() == 1 && modality.scalar_type() == torch::kInt64 &&
                  modality.size(0) == labels.size(0),
              "modality must be an int64 vector as long as the labels");
  if (is_streamed()) {
    HCMSN_CHECK(!inputs.defined(), "streamed rows hold no inputs in memory");
    HCMSN_CHECK(static_cast<int64_t>(items.size()) == labels.size(0), "there are ", items.size(),
                " streamed items for ", labels.size(0), " labels");
  } else if (inputs.size(0) != labels.size(0)) {
    HCMSN_CHECK(false, "inputs have ", inputs.size(0), " rows but ", labels.size(0), " labels");
  } else if (inputs.dim() == 4) {
    HCMSN_CHECK(inputs.scalar_type() == torch::kUInt8 && inputs.size(1) == 3,
                "images must be uint8 (N, 3, S, S), got ", inputs.sizes(), " ",
                inputs.scalar_type());
  } else {
    HCMSN_CHECK(inputs.dim() == 2 && inputs.is_floating_point(),
                "features must be a float (N, D) matrix, got ", inputs.sizes(), " ",
                inputs.scalar_type());
    if (inputs.size(0) > 0) {
      const auto bad = torch::logical_not(torch::isfinite(inputs)).any(1).nonzero();
      HCMSN_CHECK(bad.numel() == 0, "feature row ", bad.numel() ? bad[0].item<int64_t>() : 0,
                  " is not finite");
    }
  }
  HCMSN_CHECK(item_ids.empty() || static_cast<int64_t>(item_ids.size()) == size(), "there are ",
              item_ids.size(), " item ids for ", size(), " rows");
  if (size() > 0) {
    HCMSN_CHECK(labels.min().item<int64_t>() >= 0 &&
                    labels.max().item<int64_t>() < static_cast<int64_t>(class_names.size()),
                "labels must lie in [0, ", class_names.size(), ")");
    HCMSN_CHECK(torch::logical_or(modality == 0, modality == 1).all().item<bool>(),
                "modality values must be 0 (sketch) or 1 (photo)");
  }
}

TrainingSet TrainingSet::subset_classes(const std::vector<std::string>& names) const {
  const auto mine = index_of(class_names);
  std::vector<std::string> missing;
  std::vector<int64_t> new_id(class_names.size(), -1);
  std::vector<std::string> repeated;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto it = mine.find(names[i]);
    if (it == mine.end()) {
      missing.push_back(names[i]);
    } else if (new_id[it->second] >= 0) {
      repeated.push_back(names[i]);  // its rows could take only one of the ids
    } else {
      new_id[it->second] = static_cast<int64_t>(i);
    }
  }
  HCMSN_CHECK(repeated.empty(), "the class list names ", join_names(repeated),
              " more than once; list every class once.");
  HCMSN_CHECK(missing.empty(), missing.size(),
              " class(es) are not in the data: ", join_names(missing),
              ". Check the split's class list against the dataset.");
  const auto map = torch::tensor(new_id, torch::kInt64);
  const auto mapped = map.index_select(0, labels);
  TrainingSet out = select(*this, (mapped >= 0).nonzero().view(-1));
  out.labels = map.index_select(0, out.labels);
  out.class_names = names;
  return out;
}

TrainingSet concat_rows(const TrainingSet& a, const TrainingSet& b) {
  HCMSN_CHECK(!a.is_streamed() && !b.is_streamed() && a.inputs.defined() && b.inputs.defined(),
              "only rows held in memory can be joined");
  HCMSN_CHECK(a.class_names == b.class_names, "rows of different class lists cannot be joined");
  HCMSN_CHECK(a.inputs.sizes().slice(1) == b.inputs.sizes().slice(1) &&
                  a.inputs.scalar_type() == b.inputs.scalar_type(),
              "rows of inputs ", a.inputs.sizes(), " and ", b.inputs.sizes(),
              " cannot be joined: they come from different backbones or image sizes");
  HCMSN_CHECK(a.item_ids.empty() == b.item_ids.empty(), "both sets need item ids, or neither");
  TrainingSet out;
  out.inputs = torch::cat({a.inputs, b.inputs});
  out.labels = torch::cat({a.labels, b.labels});
  out.modality = torch::cat({a.modality, b.modality});
  out.class_names = a.class_names;
  out.item_ids = a.item_ids;
  out.item_ids.insert(out.item_ids.end(), b.item_ids.begin(), b.item_ids.end());
  out.validate();
  return out;
}

TrainingSet TrainingSet::select_rows(const std::vector<int64_t>& rows) const {
  for (int64_t r : rows) {
    HCMSN_CHECK(r >= 0 && r < size(), "row ", r, " is out of range for ", size(), " rows");
  }
  return select(*this, torch::tensor(rows, torch::kInt64));
}

TrainingSet TrainingSet::rows_of_modality(int64_t m) const {
  return select(*this, (modality == m).nonzero().view(-1));
}

std::vector<std::string> TrainingSet::label_names() const {
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(size()));
  const auto l = labels.contiguous();
  const int64_t* p = l.data_ptr<int64_t>();
  for (int64_t i = 0; i < size(); ++i) names.push_back(class_names[static_cast<size_t>(p[i])]);
  return names;
}

std::pair<int64_t, int64_t> TrainingSet::modality_counts() const {
  const int64_t photos = size() ? modality.sum().item<int64_t>() : 0;
  return {size() - photos, photos};
}

namespace {

// The `names` with sketches (and photos, when `need_photos`) in `set`; warns about the rest.
std::vector<std::string> classes_with_rows(const TrainingSet& set,
                                           const std::vector<std::string>& names, const char* role,
                                           bool need_photos) {
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < set.class_names.size(); ++i) {
    index.emplace(set.class_names[i], static_cast<int64_t>(i));
  }
  const auto c = static_cast<int64_t>(set.class_names.size());
  const auto counts =
      torch::zeros({c * 2}, torch::kInt64)
          .index_add_(0, set.labels * 2 + set.modality, torch::ones({set.size()}, torch::kInt64))
          .reshape({c, 2});
  std::vector<std::string> kept, dropped;
  for (const auto& name : names) {
    const auto it = index.find(name);
    const bool ok =
        it == index.end() || (counts[it->second][0].item<int64_t>() > 0 &&
                              (!need_photos || counts[it->second][1].item<int64_t>() > 0));
    (ok ? kept : dropped).push_back(name);
  }
  if (!dropped.empty() && role != nullptr) {
    std::string list;
    for (const auto& name : dropped) list += (list.empty() ? "" : ", ") + name;
    util::log_warn("{} {} class(es) lack {} and are left out: {}", dropped.size(), role,
                   need_photos ? "sketches or photos" : "sketches", list);
  }
  HCMSN_CHECK(!kept.empty(), "no ", role != nullptr ? role : "eligible", " class has ",
              need_photos ? "both sketches and photos" : "sketches");
  return kept;
}

}  // namespace

std::vector<std::string> classes_with_both_modalities(const TrainingSet& set,
                                                      const std::vector<std::string>& names,
                                                      const char* role) {
  return classes_with_rows(set, names, role, /*need_photos=*/true);
}

std::vector<std::string> classes_with_sketches(const TrainingSet& set,
                                               const std::vector<std::string>& names,
                                               const char* role) {
  return classes_with_rows(set, names, role, /*need_photos=*/false);
}

std::vector<std::string> spread_classes(const std::vector<std::string>& eligible, int64_t n) {
  const auto m = static_cast<int64_t>(eligible.size());
  HCMSN_CHECK(n >= 0 && n < m, "cannot hold out ", n, " of ", m,
              " classes: at least one must stay for training");
  std::vector<std::string> picked;
  for (int64_t k = 0; k < n; ++k) {
    picked.push_back(eligible[static_cast<size_t>((2 * k + 1) * m / (2 * n))]);
  }
  return picked;
}

std::vector<std::string> fold_classes(const std::vector<std::string>& eligible, int64_t folds,
                                      int64_t fold) {
  const auto m = static_cast<int64_t>(eligible.size());
  HCMSN_CHECK(folds >= 2 && folds <= m, "cannot split ", m, " validation classes into ", folds,
              " folds: use 2 to ", m, " folds");
  HCMSN_CHECK(fold >= 0 && fold < folds, "fold ", fold, " does not exist: give a fold from 0 to ",
              folds - 1);
  std::vector<std::string> picked;
  for (int64_t i = fold; i < m; i += folds) picked.push_back(eligible[static_cast<size_t>(i)]);
  return picked;
}

torch::Tensor class_embeddings_for(const std::vector<std::string>& names,
                                   const std::vector<std::string>& semantics_classes,
                                   const torch::Tensor& semantics) {
  HCMSN_CHECK(
      semantics.dim() == 2 && semantics.size(0) == static_cast<int64_t>(semantics_classes.size()),
      "the semantics matrix has ", semantics.size(0), " rows but the class list has ",
      semantics_classes.size(), " names");
  const auto index = index_of(semantics_classes);
  // Fallback by normalised key; a key shared by two semantics classes matches neither.
  std::unordered_map<std::string, int64_t> by_key;
  for (size_t i = 0; i < semantics_classes.size(); ++i) {
    const auto [it, fresh] =
        by_key.emplace(data::class_key(semantics_classes[i]), static_cast<int64_t>(i));
    if (!fresh) it->second = -1;
  }
  std::vector<int64_t> rows;
  std::vector<std::string> missing;
  for (const auto& n : names) {
    const auto it = index.find(n);
    if (it != index.end()) {
      rows.push_back(it->second);
      continue;
    }
    const auto k = by_key.find(data::class_key(n));
    if (k != by_key.end() && k->second >= 0) {
      rows.push_back(k->second);
    } else {
      missing.push_back(n);
    }
  }
  HCMSN_CHECK(missing.empty(), missing.size(),
              " class(es) have no semantic vector: ", join_names(missing, missing.size()),
              ". Names match exactly or by normalised key (case, and spaces/underscores/hyphens "
              "alike); add the missing ones to the semantics class list.");
  return semantics.index_select(0, torch::tensor(rows, torch::kInt64)).to(torch::kFloat32);
}

}  // namespace hcmsn::train
