#include "hcmsn/io/npy.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::io {
namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicLen = 6;
// NumPy itself refuses headers beyond this size (numpy.lib.format._MAX_HEADER_SIZE is 10000
// by default); a larger value signals corruption rather than a real file.
constexpr size_t kMaxHeaderLen = 1 << 20;

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// A minimal reader for the Python dict literal NumPy writes:
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        skip_ws();
        if (peek() == '[') {
          throw Error(
              detail::concat(what_, ": unsupported dtype (a structured array, descr = ",
                             std::string(s_.substr(pos_, std::min<size_t>(60, s_.size() - pos_))),
                             "); save a plain float32 or float64 array"));
        }
        h.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        h.shape = parse_shape();
        have_shape = true;
      } else {
        fail("unknown header key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      if (peek() != '}') fail("expected ',' or '}'");
    }
    ++pos_;  // '}'
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the header dict");
    if (!have_descr || !have_order || !have_shape) {
      fail("header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(detail::concat(what_, ": not a valid .npy file (header: ", msg, " at offset ", pos_,
                               "); re-save it with numpy.save"));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_ws();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    ++pos_;
    const size_t end = s_.find(quote, pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    skip_ws();
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<int64_t> parse_shape() {
    expect('(');
    std::vector<int64_t> shape;
    while (true) {
      skip_ws();
      if (peek() == ')') {
        ++pos_;
        break;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a dimension");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int digit = peek() - '0';
        if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("dimension too large");
        v = v * 10 + digit;
        ++pos_;
      }
      // Python 2 era files may write 3L.
      if (peek() == 'L') ++pos_;
      shape.push_back(v);
      if (shape.size() > 32) fail("more than 32 dimensions");
      skip_ws();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        fail("expected ',' or ')' in shape");
      }
    }
    return shape;
  }

  std::string_view s_;
  const std::string& what_;
  size_t pos_ = 0;
};

struct DType {
  torch::ScalarType type;
  size_t itemsize;
  bool big_endian;
};

std::optional<DType> parse_descr(const std::string& d) {
  if (d.size() < 2) return std::nullopt;
  const char order = d[0];
  const std::string code = d.substr(1);
  const bool big = order == '>';
  if (order != '<' && order != '>' && order != '|' && order != '=') return std::nullopt;
  if (code == "f4") return DType{torch::kFloat32, 4, big};
  if (code == "f8") return DType{torch::kFloat64, 8, big};
  if (code == "i4") return DType{torch::kInt32, 4, big};
  if (code == "i8") return DType{torch::kInt64, 8, big};
  if (code == "u1") return DType{torch::kUInt8, 1, false};
  if (code == "b1") return DType{torch::kBool, 1, false};
  return std::nullopt;
}

const char* descr_of(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return "<f4";
    case torch::kFloat64:
      return "<f8";
    case torch::kInt32:
      return "<i4";
    case torch::kInt64:
      return "<i8";
    case torch::kUInt8:
      return "|u1";
    case torch::kBool:
      return "|b1";
    default:
      return nullptr;
  }
}

uint32_t read_le(const char* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

torch::Tensor parse_npy(std::string_view bytes, const std::string& what) {
  HCMSN_CHECK(
      bytes.size() >= kNpyMagicLen + 2 && std::memcmp(bytes.data(), kNpyMagic, kNpyMagicLen) == 0,
      what, ": not a .npy file (missing the \\x93NUMPY magic); save arrays with numpy.save");
  const int major = static_cast<unsigned char>(bytes[6]);
  HCMSN_CHECK(major >= 1 && major <= 3, what, ": unsupported .npy format version ", major,
              " (1, 2 and 3 are supported)");
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t prefix = kNpyMagicLen + 2 + len_bytes;
  HCMSN_CHECK(bytes.size() >= prefix, what, ": truncated .npy header");
  const size_t header_len = read_le(bytes.data() + kNpyMagicLen + 2, len_bytes);
  HCMSN_CHECK(header_len <= kMaxHeaderLen && prefix + header_len <= bytes.size(), what,
              ": truncated or corrupt .npy header (declares ", header_len, " bytes, file has ",
              bytes.size() - prefix, " after the preamble)");
  const NpyHeader h = HeaderParser(bytes.substr(prefix, header_len), what).parse();
  const auto dtype = parse_descr(h.descr);
  HCMSN_CHECK(dtype.has_value(), what, ": unsupported dtype '", h.descr,
              "'; use float32 or float64 (e.g. arr.astype(np.float32))");

  // Bytes of the shape without its zero dimensions must fit, so that no reordering of the
  // shape (Fortran order) can overflow a size computation later.
  int64_t count = 1;
  int64_t nonzero_bytes = static_cast<int64_t>(dtype->itemsize);
  for (int64_t dim : h.shape) {
    if (dim == 0) {
      count = 0;
      continue;
    }
    HCMSN_CHECK(nonzero_bytes <= std::numeric_limits<int64_t>::max() / dim, what,
                ": shape overflows (", dim, " in a shape too large for memory)");
    nonzero_bytes *= dim;
    count *= dim;
  }
  const size_t payload = bytes.size() - prefix - header_len;
  HCMSN_CHECK(static_cast<uint64_t>(count) <= payload / dtype->itemsize &&
                  static_cast<uint64_t>(count) * dtype->itemsize == payload,
              what, ": payload has ", payload, " bytes but the header's shape needs ",
              static_cast<unsigned long long>(count) * dtype->itemsize,
              " (file truncated or corrupt)");

  // Fortran order is C order of the reversed shape; transpose back afterwards.
  std::vector<int64_t> storage_shape = h.shape;
  if (h.fortran_order) std::reverse(storage_shape.begin(), storage_shape.end());
  torch::Tensor t = torch::empty(storage_shape, torch::TensorOptions().dtype(dtype->type));
  if (payload > 0) std::memcpy(t.data_ptr(), bytes.data() + prefix + header_len, payload);
  if (dtype->big_endian && dtype->itemsize > 1) {
    auto* p = static_cast<unsigned char*>(t.data_ptr());
    for (int64_t i = 0; i < count; ++i) {
      std::reverse(p + i * dtype->itemsize, p + (i + 1) * dtype->itemsize);
    }
  }
  if (dtype->type == torch::kBool) {
    // Only 0 and 1 are valid bool bytes; anything else is undefined behaviour downstream.
    const auto* p = static_cast<const unsigned char*>(t.data_ptr());
    for (int64_t i = 0; i < count; ++i) {
      HCMSN_CHECK(p[i] <= 1, what, ": bool array holds a byte other than 0/1 at element ", i);
    }
  }
  if (h.fortran_order && t.dim() > 1) {
    std::vector<int64_t> perm(static_cast<size_t>(t.dim()));
    for (int64_t i = 0; i < t.dim(); ++i) perm[static_cast<size_t>(i)] = t.dim() - 1 - i;
    t = t.permute(perm).contiguous();
  }
  return t;
}

torch::Tensor read_npy(const std::string& path) {
  return parse_npy(util::read_file(path), path);
}

std::string to_npy_bytes(const torch::Tensor& tensor) {
  const char* descr = descr_of(tensor.scalar_type());
  HCMSN_CHECK(descr != nullptr, "cannot write dtype ", tensor.scalar_type(),
              " to .npy; convert to float32/float64/int32/int64/uint8/bool first");
  const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (int64_t i = 0; i < t.dim(); ++i) {
    dict += std::to_string(t.size(i));
    if (t.dim() == 1 || i + 1 < t.dim()) dict += ",";
    if (i + 1 < t.dim()) dict += " ";
  }
  dict += "), }";
  // Pad with spaces so that the data starts on a 64-byte boundary, ending with '\n'.
  size_t major = 1;
  size_t prefix = kNpyMagicLen + 2 + 2;
  size_t total = prefix + dict.size() + 1;
  if (((total + 63) / 64) * 64 - prefix > 0xFFFF) {
    major = 2;
    prefix = kNpyMagicLen + 2 + 4;
    total = prefix + dict.size() + 1;
  }
  const size_t padded = ((total + 63) / 64) * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  const size_t header_len = dict.size();

  std::string out;
  const size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
  out.reserve(prefix + header_len + nbytes);
  out.append(kNpyMagic, kNpyMagicLen);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) {
    out.push_back(static_cast<char>((header_len >> (8 * i)) & 0xFF));
  }
  out += dict;
  out.append(static_cast<const char*>(t.data_ptr()), nbytes);
  return out;
}

void write_npy(const std::string& path, const torch::Tensor& tensor) {
  util::write_file_atomic(path, to_npy_bytes(tensor));
}

torch::Tensor read_npy_matrix(const std::string& path) {
  torch::Tensor t = read_npy(path);
  HCMSN_CHECK(t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kFloat64, path,
              ": expected a float32 or float64 matrix, got ", t.scalar_type());
  HCMSN_CHECK(t.dim() == 2, path, ": expected a 2-D matrix (rows, dim), got shape ", t.sizes());
  HCMSN_CHECK(t.size(1) > 0, path, ": matrix has zero columns");
  if (t.numel() > 0) {
    const torch::Tensor finite_rows = torch::isfinite(t).all(1);
    if (!finite_rows.all().item<bool>()) {
      const int64_t bad = (~finite_rows).nonzero().index({0, 0}).item<int64_t>();
      HCMSN_CHECK(false, path, ": row ", bad, " (0-based) contains NaN or Inf; ",
                  "fix or drop non-finite rows before evaluating");
    }
  }
  return t;
}

}  // namespace hcmsn::io
