// A benchmark dataset's items (data::Dataset: image files and QuickDraw .ndjson drawings) through
// a trained run's Embedder, so that a run can be evaluated on data it was not trained on, with
// the same front end (backbone, transform, drawing render options) its training rows had.
// Batching, parallel loading and the reporting of unreadable items are Embedder::embed_loaded's;
// this adds the items' pixels: images decoded, drawings rendered, every .ndjson file read once.
#pragma once

#include <cstdint>
#include <vector>

#include "hcmsn/data/dataset.h"
#include "hcmsn/index/embedder.h"
#include "hcmsn/util/sharding.h"

namespace hcmsn::index {

/// Embeds `items`, all of `modality` (model::kSketch / kPhoto), in their order. Unreadable items
/// (a missing file, a malformed drawing) are returned with the reason, never dropped silently.
/// Sharded (issue 13): a rank loads and embeds the forward passes (blocks of batch() items) it
/// owns (util::Sharding::owns), the sum over the ranks gathers them, and every rank returns
/// the single-process embeddings bit for bit, and the same list of unreadable items (loaded
/// again for the reason).
Embedder::FileBatch embed_dataset_items(const Embedder& embedder,
                                        const std::vector<data::DatasetItem>& items,
                                        int64_t modality, bool progress,
                                        const util::Sharding& sharding = {});

}  // namespace hcmsn::index
