#include "hcmsn/io/torch_save.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <variant>

#include "hcmsn/util/check.h"

namespace hcmsn::io {
namespace {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// A Python object as far as state dicts need one.
struct Value {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kTensor,
    kStorage,
    kMark
  };
  Kind kind = Kind::kNone;
  int64_t i = 0;
  double f = 0;
  std::string s;                                    // string; "module.name" for a global
  std::vector<ValuePtr> items;                      // tuple, list
  std::vector<std::pair<ValuePtr, ValuePtr>> dict;  // dict (insertion order)
  torch::Tensor tensor;                             // tensor or storage (1-D)
};

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kFloat:
      return "float";
    case Value::Kind::kString:
      return "str";
    case Value::Kind::kTuple:
      return "tuple";
    case Value::Kind::kList:
      return "list";
    case Value::Kind::kDict:
      return "dict";
    case Value::Kind::kGlobal:
      return "class or function";
    case Value::Kind::kTensor:
      return "tensor";
    case Value::Kind::kStorage:
      return "storage";
    case Value::Kind::kMark:
      return "mark";
  }
  return "?";
}

torch::ScalarType storage_dtype(const std::string& global, const std::string& what) {
  static const std::map<std::string, torch::ScalarType> kTypes = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  const auto it = kTypes.find(global);
  HCMSN_CHECK(it != kTypes.end(), what, ": unsupported storage type ", global);
  return it->second;
}

class Unpickler {
 public:
  Unpickler(std::string_view bytes, caffe2::serialize::PyTorchStreamReader& archive,
            std::string what)
      : b_(bytes), archive_(archive), what_(std::move(what)) {}

  ValuePtr run() {
    while (true) {
      const auto op = static_cast<unsigned char>(byte());
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          take(8);
          break;  // FRAME
        case '}':
          push(make(Value::Kind::kDict));
          break;  // EMPTY_DICT
        case ']':
          push(make(Value::Kind::kList));
          break;  // EMPTY_LIST
        case ')':
          push(make(Value::Kind::kTuple));
          break;  // EMPTY_TUPLE
        case '(':
          push(make(Value::Kind::kMark));
          break;  // MARK
        case 'N':
          push(make(Value::Kind::kNone));
          break;
        case 0x88:
          push(boolean(true));
          break;  // NEWTRUE
        case 0x89:
          push(boolean(false));
          break;  // NEWFALSE
        case 'K':
          push(integer(uint_le(1)));
          break;  // BININT1
        case 'M':
          push(integer(uint_le(2)));
          break;  // BININT2
        case 'J':
          push(integer(static_cast<int32_t>(uint_le(4))));
          break;  // BININT
        case 0x8a:
          push(long1());
          break;  // LONG1
        case 'G':
          push(binfloat());
          break;  // BINFLOAT
        case 'X':
          push(string(uint_le(4)));
          break;  // BINUNICODE
        case 0x8c:
          push(string(uint_le(1)));
          break;  // SHORT_BINUNICODE
        case 'T':
          push(string(uint_le(4)));
          break;  // BINSTRING
        case 'U':
          push(string(uint_le(1)));
          break;  // SHORT_BINSTRING
        case 'q':
          memo_[uint_le(1)] = top();
          break;  // BINPUT
        case 'r':
          memo_[uint_le(4)] = top();
          break;  // LONG_BINPUT
        case 0x94:
          memo_[memo_.size()] = top();
          break;  // MEMOIZE
        case 'h':
          push(memo(uint_le(1)));
          break;  // BINGET
        case 'j':
          push(memo(uint_le(4)));
          break;  // LONG_BINGET
        case 'c':
          push(global());
          break;  // GLOBAL
        case 0x85:
          push(tuple(1));
          break;  // TUPLE1
        case 0x86:
          push(tuple(2));
          break;  // TUPLE2
        case 0x87:
          push(tuple(3));
          break;     // TUPLE3
        case 't': {  // TUPLE
          auto t = make(Value::Kind::kTuple);
          t->items = pop_to_mark();
          push(t);
          break;
        }
        case 'a': {  // APPEND
          auto v = pop();
          expect(top(), Value::Kind::kList, "APPEND")->items.push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_to_mark();
          auto& list = expect(top(), Value::Kind::kList, "APPENDS")->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 's': {  // SETITEM
          auto v = pop();
          auto k = pop();
          expect(top(), Value::Kind::kDict, "SETITEM")->dict.emplace_back(k, v);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_to_mark();
          HCMSN_CHECK(items.size() % 2 == 0, what_, ": corrupt pickle (odd SETITEMS)");
          auto& dict = expect(top(), Value::Kind::kDict, "SETITEMS")->dict;
          for (size_t i = 0; i < items.size(); i += 2) dict.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'Q':
          push(persistent(pop()));
          break;     // BINPERSID
        case 'R': {  // REDUCE
          auto args = pop();
          auto callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 'b': {  // BUILD: only an OrderedDict's attributes (`_metadata`), which we drop
          pop();
          HCMSN_CHECK(top()->kind == Value::Kind::kDict || top()->kind == Value::Kind::kTensor,
                      what_, ": unsupported pickled object state for a ", kind_name(top()->kind));
          break;
        }
        case '.': {  // STOP
          HCMSN_CHECK(stack_.size() == 1, what_, ": corrupt pickle (stack at STOP)");
          return stack_.back();
        }
        default:
          throw Error(detail::concat(what_, ": unsupported pickle opcode 0x", std::hex,
                                     static_cast<int>(op), std::dec, " at byte ", pos_ - 1,
                                     " (not a plain state dict?)"));
      }
    }
  }

 private:
  char byte() {
    HCMSN_CHECK(pos_ < b_.size(), what_, ": truncated pickle");
    return b_[pos_++];
  }
  std::string_view take(uint64_t n) {
    HCMSN_CHECK(n <= b_.size() - pos_, what_, ": truncated pickle");
    const auto out = b_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t uint_le(int n) {
    const auto s = take(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[i]);
    return v;
  }
  void push(ValuePtr v) {
    HCMSN_CHECK(stack_.size() < (1u << 20), what_, ": pickle stack too deep");
    stack_.push_back(std::move(v));
  }
  ValuePtr pop() {
    HCMSN_CHECK(!stack_.empty() && stack_.back()->kind != Value::Kind::kMark, what_,
                ": corrupt pickle (empty stack)");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  const ValuePtr& top() {
    HCMSN_CHECK(!stack_.empty(), what_, ": corrupt pickle (empty stack)");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_to_mark() {
    std::vector<ValuePtr> items;
    while (true) {
      HCMSN_CHECK(!stack_.empty(), what_, ": corrupt pickle (no MARK)");
      auto v = stack_.back();
      stack_.pop_back();
      if (v->kind == Value::Kind::kMark) break;
      items.push_back(std::move(v));
    }
    return {items.rbegin(), items.rend()};
  }
  ValuePtr memo(uint64_t key) {
    const auto it = memo_.find(key);
    HCMSN_CHECK(it != memo_.end(), what_, ": corrupt pickle (memo ", key, ")");
    return it->second;
  }
  const ValuePtr& expect(const ValuePtr& v, Value::Kind kind, const char* op) {
    HCMSN_CHECK(v->kind == kind, what_, ": corrupt pickle (", op, " on a ", kind_name(v->kind),
                ")");
    return v;
  }
  static ValuePtr boolean(bool value) {
    auto v = make(Value::Kind::kBool);
    v->i = value;
    return v;
  }
  static ValuePtr integer(int64_t value) {
    auto v = make(Value::Kind::kInt);
    v->i = value;
    return v;
  }
  ValuePtr long1() {
    const auto n = uint_le(1);
    HCMSN_CHECK(n <= 8, what_, ": integer too large in pickle");
    const auto s = take(n);
    uint64_t v = 0;
    for (int i = static_cast<int>(n) - 1; i >= 0; --i)
      v = (v << 8) | static_cast<unsigned char>(s[i]);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(s[n - 1]) & 0x80))
      v -= uint64_t{1} << (8 * n);
    return integer(static_cast<int64_t>(v));
  }
  ValuePtr binfloat() {
    const auto s = take(8);
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(s[i]);
    auto v = make(Value::Kind::kFloat);
    std::memcpy(&v->f, &bits, 8);
    return v;
  }
  ValuePtr string(uint64_t n) {
    auto v = make(Value::Kind::kString);
    v->s = std::string(take(n));
    return v;
  }
  std::string line() {
    const auto end = b_.find('\n', pos_);
    HCMSN_CHECK(end != std::string_view::npos, what_, ": truncated pickle");
    std::string out(b_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  ValuePtr global() {
    auto v = make(Value::Kind::kGlobal);
    const std::string module = line();
    v->s = module + "." + line();
    return v;
  }
  ValuePtr tuple(size_t n) {
    auto t = make(Value::Kind::kTuple);
    t->items.resize(n);
    for (size_t i = n; i-- > 0;) t->items[i] = pop();
    return t;
  }
  std::vector<int64_t> ints(const ValuePtr& v, const char* what) {
    HCMSN_CHECK(v->kind == Value::Kind::kTuple || v->kind == Value::Kind::kList, what_, ": ", what,
                " is not a tuple");
    std::vector<int64_t> out;
    for (const auto& x : v->items) {
      HCMSN_CHECK(x->kind == Value::Kind::kInt && x->i >= 0, what_, ": bad ", what);
      out.push_back(x->i);
    }
    return out;
  }

  // ('storage', <storage type>, key, location, numel): the archive's data/<key> record.
  ValuePtr persistent(const ValuePtr& pid) {
    HCMSN_CHECK(pid->kind == Value::Kind::kTuple && pid->items.size() >= 5 &&
                    pid->items[0]->kind == Value::Kind::kString && pid->items[0]->s == "storage" &&
                    pid->items[1]->kind == Value::Kind::kGlobal &&
                    pid->items[2]->kind == Value::Kind::kString &&
                    pid->items[4]->kind == Value::Kind::kInt,
                what_, ": unsupported persistent object in the pickle");
    const std::string& key = pid->items[2]->s;
    const auto dtype = storage_dtype(pid->items[1]->s, what_);
    const int64_t numel = pid->items[4]->i;
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      const std::string record = "data/" + key;
      HCMSN_CHECK(archive_.hasRecord(record), what_, ": the archive lacks ", record);
      auto [data, size] = archive_.getRecord(record);
      const auto element = static_cast<int64_t>(c10::elementSize(dtype));
      HCMSN_CHECK(numel >= 0 && static_cast<int64_t>(size) == numel * element, what_, ": ", record,
                  " holds ", size, " bytes, not ", numel, " × ", element);
      auto storage = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
      if (size > 0) std::memcpy(storage.data_ptr(), data.get(), size);
      it = storages_.emplace(key, storage).first;
    }
    auto v = make(Value::Kind::kStorage);
    v->tensor = it->second;
    return v;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    HCMSN_CHECK(callable->kind == Value::Kind::kGlobal && args->kind == Value::Kind::kTuple, what_,
                ": corrupt pickle (REDUCE)");
    const std::string& name = callable->s;
    const auto& a = args->items;
    if (name == "collections.OrderedDict") return make(Value::Kind::kDict);
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      HCMSN_CHECK(
          a.size() >= 4 && a[0]->kind == Value::Kind::kStorage && a[1]->kind == Value::Kind::kInt,
          what_, ": malformed tensor in the pickle");
      const auto& storage = a[0]->tensor;
      const int64_t offset = a[1]->i;
      const auto size = ints(a[2], "tensor size");
      const auto stride = ints(a[3], "tensor stride");
      HCMSN_CHECK(size.size() == stride.size(), what_, ": tensor size and stride differ in rank");
      int64_t last = offset;  // the largest element index the view touches
      bool empty = false;
      for (size_t d = 0; d < size.size(); ++d) {
        empty |= size[d] == 0;
        if (size[d] > 0) last += (size[d] - 1) * stride[d];
      }
      HCMSN_CHECK(offset >= 0 && (empty || last < storage.numel()), what_,
                  ": a tensor reaches outside its storage");
      auto v = make(Value::Kind::kTensor);
      v->tensor = empty ? torch::empty(size, storage.options())
                        : storage.as_strided(size, stride, offset).clone();
      return v;
    }
    if (name == "torch._utils._rebuild_parameter" ||
        name == "torch._utils._rebuild_parameter_with_state") {
      HCMSN_CHECK(!a.empty() && a[0]->kind == Value::Kind::kTensor, what_,
                  ": malformed parameter in the pickle");
      return a[0];
    }
    throw Error(detail::concat(what_, ": the pickle holds a ", name,
                               " object; only dicts of tensors (state dicts) can be read"));
  }

  std::string_view b_;
  size_t pos_ = 0;
  caffe2::serialize::PyTorchStreamReader& archive_;
  std::string what_;
  std::vector<ValuePtr> stack_;
  std::map<uint64_t, ValuePtr> memo_;
  std::map<std::string, torch::Tensor> storages_;
};

StateDict to_state_dict(const ValuePtr& value, const std::string& path, bool top) {
  HCMSN_CHECK(value->kind == Value::Kind::kDict, path, ": the torch.save file holds a ",
              kind_name(value->kind), ", not a dict of tensors (save model.state_dict())");
  if (top) {
    for (const char* key : {"state_dict", "model"}) {
      for (const auto& [k, v] : value->dict) {
        if (k->kind == Value::Kind::kString && k->s == key && v->kind == Value::Kind::kDict) {
          return to_state_dict(v, path, false);
        }
      }
    }
  }
  StateDict out;
  std::set<std::string> seen;
  for (const auto& [k, v] : value->dict) {
    HCMSN_CHECK(k->kind == Value::Kind::kString, path, ": a state dict key is a ",
                kind_name(k->kind), ", not a string");
    HCMSN_CHECK(v->kind == Value::Kind::kTensor, path, ": entry \"", k->s, "\" is a ",
                kind_name(v->kind), ", not a tensor");
    HCMSN_CHECK(seen.insert(k->s).second, path, ": entry \"", k->s, "\" appears twice");
    out.emplace_back(k->s, v->tensor);
  }
  return out;
}

}  // namespace

StateDict read_torch_save(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader archive(path);
    HCMSN_CHECK(archive.hasRecord("data.pkl"), path, ": the archive has no data.pkl");
    auto [data, size] = archive.getRecord("data.pkl");
    const std::string_view pickle(static_cast<const char*>(data.get()), size);
    Unpickler unpickler(pickle, archive, path);
    return to_state_dict(unpickler.run(), path, true);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(detail::concat(path, ": cannot read this torch.save archive (",
                               e.what_without_backtrace(), "); download or save it again"));
  } catch (const std::exception& e) {
    throw Error(detail::concat(path, ": cannot read this torch.save archive (", e.what(),
                               "); download or save it again"));
  }
}

}  // namespace hcmsn::io
