#include "hcmsn/metrics/protocol.h"

#include <vector>

#include "hcmsn/util/check.h"

namespace hcmsn::metrics {

std::string Protocol::name() const {
  std::vector<std::string> parts;
  if (ap == ApInterpolation::kVoc) parts.emplace_back("voc");
  if (averaging == Averaging::kClass) parts.emplace_back("class-balanced");
  if (precision == PrecisionDenominator::kMinKR) parts.emplace_back("prec-min-kr");
  if (parts.empty()) return "standard";
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) out += "+" + parts[i];
  return out;
}

std::string Protocol::description() const {
  std::string s = ap == ApInterpolation::kVoc
                      ? "AP: VOC all-points interpolated. "
                      : "AP: non-interpolated, (1/R) sum_k P@k rel_k over the whole ranking. ";
  s += averaging == Averaging::kClass ? "Averaged per class, then over classes. "
                                      : "Averaged over queries. ";
  s += precision == PrecisionDenominator::kMinKR ? "Prec@K = hits in top K / min(K, R). "
                                                 : "Prec@K = hits in top K / K. ";
  s += "mAP@K normalised by the relevant items found in the top K. Ties by gallery index.";
  return s;
}

Protocol Protocol::parse(const std::string& name) {
  Protocol p;
  if (name == "standard" || name == "default") return p;
  size_t start = 0;
  while (true) {
    const size_t plus = name.find('+', start);
    const std::string part = name.substr(start, plus == std::string::npos ? plus : plus - start);
    if (part == "voc") {
      p.ap = ApInterpolation::kVoc;
    } else if (part == "class-balanced") {
      p.averaging = Averaging::kClass;
    } else if (part == "prec-min-kr") {
      p.precision = PrecisionDenominator::kMinKR;
    } else {
      HCMSN_CHECK(false, "unknown protocol '", name, "': use 'standard' or any '+'-joined ",
                  "combination of 'voc', 'class-balanced', 'prec-min-kr'");
    }
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  return p;
}

std::string to_string(EmptyQueryPolicy p) {
  switch (p) {
    case EmptyQueryPolicy::kZero:
      return "zero";
    case EmptyQueryPolicy::kSkip:
      return "skip";
    case EmptyQueryPolicy::kError:
      return "error";
  }
  return "?";
}

EmptyQueryPolicy parse_empty_query_policy(const std::string& name) {
  if (name == "zero") return EmptyQueryPolicy::kZero;
  if (name == "skip") return EmptyQueryPolicy::kSkip;
  if (name == "error") return EmptyQueryPolicy::kError;
  HCMSN_CHECK(false, "unknown policy for queries without relevant items '", name,
              "': use zero, skip or error");
  return EmptyQueryPolicy::kZero;
}

}  // namespace hcmsn::metrics
