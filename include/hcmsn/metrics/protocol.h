// Evaluation protocols. Published ZS-SBIR code computes "mAP", "mAP@K" and "Prec@K" in
// different ways; hcmsn re-implements each evaluation function as a named preset and names the
// preset (and spells out its rules) in every report.
//
// Notation: a query's gallery of N items is ranked; R = relevant items in the whole gallery,
// r_1 < … < r_R their 1-based ranks, h_K = #{i : r_i ≤ K}, K' = min(K, N).
//
// Presets (`--protocol NAME`):
//   standard  AP = (1/R) Σ_i i/r_i; mAP@K = (1/h_K) Σ_{i≤h_K} i/r_i (0 if h_K = 0);
//             Prec@K = h_K / K'; averaged over queries; ties by gallery index.
//   sake      SAKE (Liu et al., ICCV 2019; github.com/qliu24/SAKE,
//             src/test_cse_resnet_tuberlin_zeroshot.py: eval_AP_inner + VOCap, eval_precision,
//             collected per query class with nanmean; DSN and later repositories copy it).
//             AP = VOC all-points interpolated, (1/R) Σ_i max_{j≥i} j/r_j;
//             mAP@K = (1/min(K,R)) Σ_{i≤h_K} max_{i≤j≤h_K} j/r_j (relevant items outside the
//             top K cost AP); Prec@K = h_K / K'; every metric averaged per query class (nanmean),
//             then over classes.
//   zse-sbir  ZSE-SBIR (Lin et al., CVPR 2023; github.com/buptLinfy/ZSE-SBIR, utils/ap.py:
//             voc_eval + voc_ap, precision_eval). AP and mAP@K as `sake`;
//             Prec@K = h_m / m with m = min(K, R) (hits within the top min(K, R), not the top K);
//             averaged over queries (nanmean).
//   sem-pcyc  SEM-PCYC (Dutta & Akata, CVPR 2019; github.com/AnjanDutta/sem-pcyc, src/utils.py:
//             apsak, aps, precak, prec; Doodle2Search computes mAP@200 the same way).
//             AP = scikit-learn's average_precision_score over the whole ranking, mAP@K = the
//             same on the top K only (0 when no relevant item is there), Prec@K = h_K / K';
//             averaged over queries. scikit-learn scores tied items as one group: every item of
//             a group shares the precision at the group's end.
//
// The presets are named combinations of variants, which also combine freely with '+':
//   voc             VOC interpolation for AP and mAP@K, mAP@K normalised by min(K, R)
//   class-balanced  averaged per class, then over classes
//   prec-min-kr     Prec@K = h_m / min(K, R), m = min(K, R)
//   tie-groups      tied keys form one group (scikit-learn); not combinable with voc
// so sake = voc+class-balanced, zse-sbir = voc+prec-min-kr, sem-pcyc = tie-groups.
//
// Ties: hcmsn orders tied keys by gallery index (a stable sort). The reference code sorts with
// numpy's default argsort (introsort, not stable), so its order among tied items depends on
// numpy's version and the data layout; a stable sort is the one reproducible choice, and it is
// what the golden values use. Under `tie-groups` the order among tied items does not matter
// except at the top-K cut, where the lower gallery index enters first.
//
// Queries whose class has no gallery item (R = 0): SAKE's and ZSE-SBIR's functions return NaN
// for them and nanmean leaves them out, so these presets skip them by default; `standard` and
// `sem-pcyc` count them as 0 (SEM-PCYC's apsak does). See EmptyQueryPolicy. One deviation:
// SAKE's eval_precision counts such queries as Prec@K = 0, hcmsn's `skip` leaves them out of
// every average, and a class whose queries all lack relevant items is left out of the class
// average instead of making it NaN.
#pragma once

#include <string>

namespace hcmsn::metrics {

enum class ApInterpolation { kNone, kVoc };
enum class Averaging { kQuery, kClass };
enum class PrecisionDenominator {
  kK,      // h_K / min(K, N)
  kMinKR,  // h_m / m, m = min(K, R)
};
enum class TieHandling {
  kByIndex,  // tied keys ranked by gallery index
  kGrouped,  // tied keys form one group that shares its end's precision (scikit-learn)
};

/// What to do with a query whose class has no item in the gallery (R = 0).
enum class EmptyQueryPolicy {
  kAuto,   // the protocol's own rule (Protocol::default_empty_queries)
  kZero,   // counts with AP = Prec@K = mAP@K = 0 (a note is printed)
  kSkip,   // excluded from every average
  kError,  // the evaluation fails
};

struct Protocol {
  ApInterpolation ap = ApInterpolation::kNone;
  Averaging averaging = Averaging::kQuery;
  PrecisionDenominator precision = PrecisionDenominator::kK;
  TieHandling ties = TieHandling::kByIndex;

  /// The preset's name when the variants equal one ("standard", "sake", "zse-sbir",
  /// "sem-pcyc"), else the '+'-joined variants in a fixed order.
  std::string name() const;
  /// One sentence per rule (AP, mAP@K, Prec@K, averaging, ties), for reports.
  std::string description() const;
  /// The evaluation code this protocol reproduces (repository and function), or "" when none.
  std::string source() const;
  /// kSkip where the reference code yields NaN for R = 0 (voc-based presets), else kZero.
  EmptyQueryPolicy default_empty_queries() const;
  /// Parses a preset name or '+'-joined variants (any order). Throws hcmsn::Error listing the
  /// valid names.
  static Protocol parse(const std::string& name);
};

/// Help text for --protocol flags.
inline constexpr const char* kProtocolHelp =
    "standard, sake, zse-sbir or sem-pcyc (the evaluation code of those papers), or "
    "'+'-joined variants: voc, class-balanced, prec-min-kr, tie-groups";

std::string to_string(EmptyQueryPolicy p);
EmptyQueryPolicy parse_empty_query_policy(const std::string& name);
/// kAuto resolved against the protocol; any other policy is returned as given.
EmptyQueryPolicy resolve(EmptyQueryPolicy p, const Protocol& protocol);

}  // namespace hcmsn::metrics
