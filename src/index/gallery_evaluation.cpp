#include "hcmsn/index/gallery_evaluation.h"

#include <map>
#include <set>

#include "hcmsn/data/class_name.h"
#include "hcmsn/util/check.h"

namespace hcmsn::index {
namespace {

bool blank(const std::string& name) {
  return name.find_first_not_of(" \t\r\n") == std::string::npos;
}

}  // namespace

metrics::Labels gallery_labels(const Gallery& gallery,
                               const std::vector<std::string>& query_classes) {
  // key → displayed name: the gallery's spelling first, then the queries'.
  std::map<std::string, std::string> name_of;
  for (const std::string& name : gallery.class_names()) {
    if (!blank(name)) name_of.emplace(data::class_key(name), name);
  }
  for (size_t i = 0; i < query_classes.size(); ++i) {
    HCMSN_CHECK(!blank(query_classes[i]), "query ", i,
                " has no class; every query needs one to be scored");
    name_of.emplace(data::class_key(query_classes[i]), query_classes[i]);
  }
  std::set<std::string> names;
  for (const auto& [key, name] : name_of) names.insert(name);
  metrics::Labels out;
  out.class_names.assign(names.begin(), names.end());
  std::map<std::string, int64_t> id_of_key;
  for (const auto& [key, name] : name_of) {
    id_of_key[key] = std::distance(names.begin(), names.find(name));
  }
  out.query.reserve(query_classes.size());
  for (const std::string& c : query_classes) out.query.push_back(id_of_key.at(data::class_key(c)));
  out.gallery.reserve(gallery.entries.size());
  for (const GalleryEntry& e : gallery.entries) {
    out.gallery.push_back(blank(e.class_name) ? -1 : id_of_key.at(data::class_key(e.class_name)));
  }
  return out;
}

metrics::RetrievalResult evaluate_gallery(const Gallery& gallery, const torch::Tensor& queries,
                                          const std::vector<std::string>& query_classes,
                                          const metrics::EvaluationOptions& options) {
  HCMSN_CHECK(gallery.size() > 0, "the gallery is empty; add photos with hcmsn index");
  HCMSN_CHECK(queries.dim() == 2 && queries.size(0) == static_cast<int64_t>(query_classes.size()),
              "got ", query_classes.size(), " query classes for query embeddings of shape ",
              queries.sizes(), "; give one class per row");
  HCMSN_CHECK(queries.size(1) == gallery.dim(), "query embeddings have ", queries.size(1),
              " dimensions but the gallery has ", gallery.dim(),
              "; embed the queries with the gallery's model");
  metrics::DistanceOptions distance;
  distance.metric = metrics::Metric::kPoincare;
  distance.curvature = gallery.curvature;
  return metrics::evaluate_embeddings(queries, gallery.embeddings,
                                      gallery_labels(gallery, query_classes), distance, options);
}

}  // namespace hcmsn::index
