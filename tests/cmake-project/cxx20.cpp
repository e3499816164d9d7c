#include <concepts>
#include <cstdio>
#include <numeric>
#include <span>
#include <vector>

static_assert(__cplusplus >= 202002L, "C++20");

template <std::integral T>
constexpr T sum(std::span<const T> xs) {
    return std::accumulate(xs.begin(), xs.end(), T{0});
}

int main() {
    std::vector<int> v{1, 2, 3};
    auto [first, second] = std::pair{v[0], v[1]};
    std::printf("cxx20 ok %d\n", sum<int>(v) * (first + second) / 3);
    return 0;
}
