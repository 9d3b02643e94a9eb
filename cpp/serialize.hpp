// Minimal binary (de)serialisation of plain values and vectors, for simulator checkpoints. A sealed
// buffer ends with a checksum of all its bytes, so that a damaged checkpoint is refused before any
// value read from it (an index, a count) is used.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace pyslice {

// A 64-bit checksum of n bytes: each step is a bijection of the running value, so a change to any
// one 8-byte word always changes the result.
inline std::uint64_t checksum(const char* p, size_t n) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
  for (size_t i = 0; i < n; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, n - i < 8 ? n - i : 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  return h;
}

class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    const auto* p = reinterpret_cast<const char*>(&v);
    buf_.insert(buf_.end(), p, p + sizeof(T));
  }
  template <typename T>
  void put_vector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    put<std::uint64_t>(v.size());
    const auto* p = reinterpret_cast<const char*>(v.data());
    buf_.insert(buf_.end(), p, p + v.size() * sizeof(T));
  }
  const std::string& bytes() const { return buf_; }
  // The bytes with their checksum appended (see Reader::unseal).
  std::string sealed() const {
    Writer w(*this);
    w.put(checksum(buf_.data(), buf_.size()));
    return w.buf_;
  }

 private:
  std::string buf_;
};

class Reader {
 public:
  explicit Reader(const std::string& bytes) : buf_(bytes) {}
  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    need(sizeof(T));
    T v;
    std::memcpy(&v, buf_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <typename T>
  std::vector<T> get_vector() {
    const std::uint64_t n = get<std::uint64_t>();
    if (n > (end_ - pos_) / (sizeof(T) ? sizeof(T) : 1)) throw std::invalid_argument("state is truncated or corrupt");
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), buf_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  bool done() const { return pos_ == end_; }
  // Checks the checksum Writer::sealed appended (invalid_argument "<what> is corrupt" when it does
  // not match) and stops reading before it.
  void unseal(const std::string& what) {
    std::uint64_t stored = 0;
    if (buf_.size() < sizeof(stored) || buf_.size() - sizeof(stored) < pos_)
      throw std::invalid_argument(what + " is truncated or corrupt");
    end_ = buf_.size() - sizeof(stored);
    std::memcpy(&stored, buf_.data() + end_, sizeof(stored));
    if (stored != checksum(buf_.data(), end_)) throw std::invalid_argument(what + " is corrupt (checksum mismatch)");
  }

 private:
  void need(size_t n) const {
    if (end_ - pos_ < n) throw std::invalid_argument("state is truncated or corrupt");
  }
  const std::string& buf_;
  size_t pos_ = 0;
  size_t end_ = buf_.size();
};

}  // namespace pyslice
