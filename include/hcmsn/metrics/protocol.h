// Evaluation protocols. Published ZS-SBIR papers compute "mAP" and "Prec@K" differently; hcmsn
// supports the variants as named, composable options and names the one used in every report.
//
//   standard        non-interpolated AP = (1/R) Σ_k P@k·rel_k over the whole ranking
//                   (scikit-learn's average_precision_score without ties), averaged over
//                   queries; Prec@K = |relevant ∩ top-K| / K.
//   voc             VOC all-points interpolated AP: precision at each relevant rank replaced by
//                   the best precision at any deeper rank (SAKE / DSN / ZSE-SBIR code).
//   class-balanced  every metric averaged per class first, then over classes (DSN).
//   prec-min-kr     Prec@K divided by min(K, R) instead of K (ZSE-SBIR).
// Variants combine with '+', e.g. "voc+class-balanced". mAP@K always normalises by the number
// of relevant items found in the top K (0 when there are none).
#pragma once

#include <string>

namespace hcmsn::metrics {

enum class ApInterpolation { kNone, kVoc };
enum class Averaging { kQuery, kClass };
enum class PrecisionDenominator { kK, kMinKR };

/// What to do with a query whose class has no item in the gallery (R = 0).
enum class EmptyQueryPolicy {
  kZero,   // counts with AP = Prec@K = mAP@K = 0 (the default; a warning is printed)
  kSkip,   // excluded from every average
  kError,  // the evaluation fails
};

struct Protocol {
  ApInterpolation ap = ApInterpolation::kNone;
  Averaging averaging = Averaging::kQuery;
  PrecisionDenominator precision = PrecisionDenominator::kK;

  /// Canonical name: "standard", or the '+'-joined variants in a fixed order.
  std::string name() const;
  /// One sentence per active rule, for reports.
  std::string description() const;
  /// Parses a name as produced by name() (any order). Throws hcmsn::Error listing valid names.
  static Protocol parse(const std::string& name);
};

std::string to_string(EmptyQueryPolicy p);
EmptyQueryPolicy parse_empty_query_policy(const std::string& name);

}  // namespace hcmsn::metrics
