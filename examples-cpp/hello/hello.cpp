// A tour of the C++ runtime inside a Kiln VM: each feature is checked, not just used, and
// prints one line ending in "ok" or "FAIL (...)"; the program prints "all ok" and returns 0
// only when every check passed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <vector>

namespace {

int failures = 0;

void check(const char *feature, bool passed, const std::string &detail = "")
{
    if (passed) {
        std::cout << feature << ": ok\n";
    } else {
        std::cout << feature << ": FAIL (" << detail << ")\n";
        ++failures;
    }
}

// Static construction and destruction: the constructor runs before main, the destructor
// after main returns (its line appears after "all ok").
struct Announcer {
    bool constructed = false;
    Announcer()
    {
        constructed = true;
        std::cout << "static constructor ran\n";
    }
    ~Announcer() { std::cout << "static destructor ran\n"; }
};
Announcer announcer;

void check_iostream()
{
    std::ostringstream out;
    out << 3.25 << ' ' << std::fixed << std::setprecision(3) << 2.0 / 3.0 << ' '
        << std::scientific << std::setprecision(2) << 12345.678;
    double parsed = 0;
    std::string word;
    std::istringstream("  -1.5e3\tkiln ") >> parsed >> word;
    const std::string expected = "3.25 0.667 1.23e+04";
    std::cout << "iostream prints " << out.str() << " and parses " << parsed << '\n';
    check("iostream", out.str() == expected && parsed == -1500.0 && word == "kiln",
          "got '" + out.str() + "', want '" + expected + "', word '" + word + "'");
}

void check_string()
{
    std::string s = "kiln";
    s += " boots ";
    s.append(3, '!');
    std::string upper = s;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    check("string", s == "kiln boots !!!" && s.find("boots") == 5 &&
                        s.substr(0, 4) == "kiln" && upper == "KILN BOOTS !!!" &&
                        std::to_string(42) + "x" == "42x" && std::stoi("-17") == -17,
          s);
}

void check_vector()
{
    std::vector<int> v;
    for (int i = 10; i > 0; --i)
        v.push_back(i * i);
    std::sort(v.begin(), v.end());
    const int sum = std::accumulate(v.begin(), v.end(), 0);
    check("vector", v.size() == 10 && v.front() == 1 && v.back() == 100 && sum == 385,
          "sum " + std::to_string(sum));
}

void check_map()
{
    std::map<std::string, int> m{{"zeta", 26}, {"alpha", 1}, {"mu", 12}};
    m["beta"] = 2;
    std::string order;
    for (const auto &[key, value] : m)
        order += key + "=" + std::to_string(value) + " ";
    check("map", order == "alpha=1 beta=2 mu=12 zeta=26 ", order);
}

void check_unordered_map()
{
    std::unordered_map<std::string, int> counts;
    for (const char *word : {"a", "b", "a", "c", "a", "b"})
        ++counts[word];
    for (int i = 0; i < 1000; ++i)
        counts["k" + std::to_string(i)] = i;
    check("unordered_map", counts.size() == 1003 && counts["a"] == 3 && counts["b"] == 2 &&
                               counts["c"] == 1 && counts.at("k999") == 999,
          "size " + std::to_string(counts.size()));
}

struct DepthError : std::runtime_error {
    int depth;
    explicit DepthError(int d) : std::runtime_error("thrown at depth " + std::to_string(d)), depth(d) {}
};

// Each frame owns a string, so unwinding has destructors to run on the way out.
int descend(int depth, int &unwound)
{
    struct Frame {
        int &counter;
        ~Frame() { ++counter; }
    } frame{unwound};
    std::string label = "frame " + std::to_string(depth);
    if (depth == 12)
        throw DepthError(depth);
    return descend(depth + 1, unwound) + static_cast<int>(label.size());
}

void check_exceptions()
{
    int unwound = 0;
    std::string what;
    int depth = 0;
    try {
        try {
            descend(0, unwound);
        } catch (...) {
            throw; // rethrow through a catch-all
        }
    } catch (const std::runtime_error &e) {
        what = e.what();
        if (const auto *d = dynamic_cast<const DepthError *>(&e))
            depth = d->depth;
    }
    bool out_of_range = false;
    try {
        std::vector<int>().at(1);
    } catch (const std::out_of_range &) {
        out_of_range = true;
    }
    check("exceptions", what == "thrown at depth 12" && depth == 12 && unwound == 13 &&
                            out_of_range,
          "what '" + what + "', unwound " + std::to_string(unwound));
}

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
};
struct Square : Shape {
    double side;
    explicit Square(double s) : side(s) {}
    double area() const override { return side * side; }
};
struct Circle : Shape {
    double r;
    explicit Circle(double radius) : r(radius) {}
    double area() const override { return 3.14159 * r * r; }
};

void check_rtti()
{
    Square square(3);
    Circle circle(1);
    Shape *shapes[] = {&square, &circle};
    const bool casts = dynamic_cast<Square *>(shapes[0]) == &square &&
                       dynamic_cast<Square *>(shapes[1]) == nullptr &&
                       dynamic_cast<Circle *>(shapes[1]) == &circle;
    const std::string name = typeid(*shapes[1]).name();
    std::cout << "typeid(*shape).name() = " << name << '\n';
    check("rtti", casts && typeid(*shapes[0]) == typeid(Square) &&
                      name.find("Circle") != std::string::npos && shapes[0]->area() == 9.0,
          "name " + name);
}

struct TlsGuard {
    int calls = 0;
    ~TlsGuard() { std::cout << "thread_local destructor ran\n"; }
};
thread_local TlsGuard tls_guard;
thread_local int tls_counter = 100;

int bump() { return ++tls_counter + ++tls_guard.calls; }

void check_thread_local()
{
    bump();
    bump();
    const int last = bump();
    check("thread_local", tls_counter == 103 && tls_guard.calls == 3 && last == 106,
          "counter " + std::to_string(tls_counter));
}

void check_clocks()
{
    using namespace std::chrono;
    const auto start = steady_clock::now();
    auto later = start;
    volatile double sink = 0;
    for (long i = 0; i < 100000000 && later == start; ++i) {
        sink = sink + std::sqrt(static_cast<double>(i));
        later = steady_clock::now();
    }
    check("steady_clock", later > start, "did not advance");

    const std::time_t now = system_clock::to_time_t(system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    const int year = utc.tm_year + 1900;
    check("system_clock", year >= 2024 && year < 2200, "year " + std::to_string(year));
}

void check_random_device()
{
    std::string error;
    bool varied = false;
    try {
        std::random_device rd;
        const unsigned first = rd();
        for (int i = 0; i < 8 && !varied; ++i)
            varied = rd() != first;
        std::mt19937 gen(rd());
        std::uniform_int_distribution<int> die(1, 6);
        for (int i = 0; i < 100; ++i) {
            const int roll = die(gen);
            if (roll < 1 || roll > 6)
                varied = false;
        }
    } catch (const std::exception &e) {
        error = e.what();
    }
    check("random_device", varied && error.empty(), error.empty() ? "no variation" : error);
}

void check_function()
{
    int base = 10;
    std::function<int(int)> add = [base](int x) { return base + x; };
    std::function<int(int)> twice = [&add](int x) { return add(add(x)); };
    std::function<int(int)> empty;
    bool threw = false;
    try {
        empty(1);
    } catch (const std::bad_function_call &) {
        threw = true;
    }
    const int chained = twice(1);
    std::swap(add, empty);
    check("function", chained == 21 && empty(5) == 15 && !add && threw,
          "twice(1) = " + std::to_string(chained));
}

} // namespace

int main()
{
    check("static constructors", announcer.constructed);
    check_iostream();
    check_string();
    check_vector();
    check_map();
    check_unordered_map();
    check_exceptions();
    check_rtti();
    check_thread_local();
    check_clocks();
    check_random_device();
    check_function();
    if (failures != 0) {
        std::cout << failures << " check(s) FAILED\n";
        return 1;
    }
    std::cout << "all ok\n";
    return 0;
}
