#include "hcmsn/metrics/protocol.h"

#include <vector>

#include "hcmsn/util/check.h"

namespace hcmsn::metrics {
namespace {

struct Preset {
  const char* name;
  const char* variants;
  const char* source;
};

// The variants of each preset (as parse() reads them) and the code it reproduces.
constexpr Preset kPresets[] = {
    {"standard", "", ""},
    {"sake", "voc+class-balanced",
     "SAKE (Liu et al., ICCV 2019), github.com/qliu24/SAKE, "
     "src/test_cse_resnet_tuberlin_zeroshot.py: eval_AP_inner, VOCap, eval_precision, "
     "per-class nanmean then mean over classes (as DSN and later repositories)"},
    {"zse-sbir", "voc+prec-min-kr",
     "ZSE-SBIR (Lin et al., CVPR 2023), github.com/buptLinfy/ZSE-SBIR, utils/ap.py: "
     "calculate, voc_eval, voc_ap, precision_eval, nanmean over queries"},
    {"sem-pcyc", "tie-groups",
     "SEM-PCYC (Dutta & Akata, CVPR 2019), github.com/AnjanDutta/sem-pcyc, src/utils.py: "
     "apsak, aps (scikit-learn average_precision_score), precak, prec; mean over queries"},
};

Protocol parse_variants(const std::string& name) {
  Protocol p;
  if (name.empty()) return p;
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
    } else if (part == "tie-groups") {
      p.ties = TieHandling::kGrouped;
    } else {
      HCMSN_CHECK(false, "unknown protocol '", name, "': use ", kProtocolHelp);
    }
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  HCMSN_CHECK(!(p.ap == ApInterpolation::kVoc && p.ties == TieHandling::kGrouped), "protocol '",
              name, "': 'voc' and 'tie-groups' do not combine (no published ",
              "code interpolates over tie groups); use one of them");
  return p;
}

bool same(const Protocol& a, const Protocol& b) {
  return a.ap == b.ap && a.averaging == b.averaging && a.precision == b.precision &&
         a.ties == b.ties;
}

const Preset* preset_of(const Protocol& p) {
  for (const auto& preset : kPresets) {
    if (same(p, parse_variants(preset.variants))) return &preset;
  }
  return nullptr;
}

}  // namespace

std::string Protocol::name() const {
  if (const Preset* preset = preset_of(*this)) return preset->name;
  std::vector<std::string> parts;
  if (ap == ApInterpolation::kVoc) parts.emplace_back("voc");
  if (averaging == Averaging::kClass) parts.emplace_back("class-balanced");
  if (precision == PrecisionDenominator::kMinKR) parts.emplace_back("prec-min-kr");
  if (ties == TieHandling::kGrouped) parts.emplace_back("tie-groups");
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) out += "+" + parts[i];
  return out;
}

std::string Protocol::description() const {
  const bool voc = ap == ApInterpolation::kVoc;
  const bool groups = ties == TieHandling::kGrouped;
  std::string s;
  if (voc) {
    s += "AP: VOC all-points interpolated, (1/R) sum_i max_{j>=i} j/r_j. ";
    s += "mAP@K: VOC-interpolated over the top K, divided by min(K, R). ";
  } else if (groups) {
    s += "AP: scikit-learn average_precision_score over the whole ranking (tied items form one "
         "group sharing the precision at its end). ";
    s += "mAP@K: the same on the top K, divided by the relevant items found there (0 if none). ";
  } else {
    s += "AP: non-interpolated, (1/R) sum_i i/r_i over the whole ranking. ";
    s += "mAP@K: (1/h_K) sum_{r_i<=K} i/r_i, divided by the relevant items found in the top K "
         "(0 if none). ";
  }
  s += precision == PrecisionDenominator::kMinKR ? "Prec@K: hits in the top min(K, R) / min(K, R). "
                                                 : "Prec@K: hits in the top K / min(K, N). ";
  s += averaging == Averaging::kClass ? "Averaged per query class, then over classes. "
                                      : "Averaged over queries. ";
  s += groups ? "Order within ties (the top-K cut): gallery index."
              : "Ties broken by gallery index (stable sort).";
  return s;
}

std::string Protocol::source() const {
  const Preset* preset = preset_of(*this);
  return preset ? preset->source : "";
}

EmptyQueryPolicy Protocol::default_empty_queries() const {
  return ap == ApInterpolation::kVoc ? EmptyQueryPolicy::kSkip : EmptyQueryPolicy::kZero;
}

Protocol Protocol::parse(const std::string& name) {
  if (name == "default") return Protocol{};
  for (const auto& preset : kPresets) {
    if (name == preset.name) return parse_variants(preset.variants);
  }
  HCMSN_CHECK(!name.empty(), "empty protocol name: use ", kProtocolHelp);
  return parse_variants(name);
}

std::string to_string(EmptyQueryPolicy p) {
  switch (p) {
    case EmptyQueryPolicy::kAuto:
      return "auto";
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
  if (name == "auto") return EmptyQueryPolicy::kAuto;
  if (name == "zero") return EmptyQueryPolicy::kZero;
  if (name == "skip") return EmptyQueryPolicy::kSkip;
  if (name == "error") return EmptyQueryPolicy::kError;
  HCMSN_CHECK(false, "unknown policy for queries without relevant items '", name,
              "': use auto (the protocol's rule), zero, skip or error");
  return EmptyQueryPolicy::kZero;
}

EmptyQueryPolicy resolve(EmptyQueryPolicy p, const Protocol& protocol) {
  return p == EmptyQueryPolicy::kAuto ? protocol.default_empty_queries() : p;
}

}  // namespace hcmsn::metrics
