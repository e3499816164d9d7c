// locale_stream.cpp: libc++'s locale machinery over musl through the locale bridge. Debian's
// libc++.a reads glibc's fields of every locale object it creates with newlocale; before the
// bridge, printing a double through an ostream crashed. Expected: "status: ok", exit 0.
#include <cctype>
#include <clocale>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <locale>
#include <regex>
#include <sstream>
#include <string>

namespace {

int failures = 0;

void check(const char *name, bool passed, const std::string &detail)
{
    if (passed) {
        std::cout << name << ": ok\n";
    } else {
        std::cout << name << ": FAIL (" << detail << ")\n";
        ++failures;
    }
}

} // namespace

int main()
{
    std::ostringstream out;
    out << 0.1 << ' ' << -2.5e-300 << ' ' << std::setprecision(17) << 1.0 / 3.0 << ' '
        << std::hexfloat << 1.0;
    const std::string printed = out.str();
    std::cout << "a double through an ostream: " << 6.02214076e23 << '\n';
    check("ostream << double", printed == "0.1 -2.5e-300 0.33333333333333331 0x1p+0", printed);

    double parsed = 0;
    long long big = 0;
    std::istringstream in("1e-5 0x1F");
    in >> parsed >> std::hex >> big;
    check("istream >> double, hex", in && parsed == 1e-5 && big == 31,
          std::to_string(parsed) + " " + std::to_string(big));

    // Inline ctype<char>::is() against libc++.a's table (libc-shim/include/__locale).
    std::istringstream words("  kiln\tboots\n now");
    std::string w1, w2, w3;
    words >> w1 >> w2 >> w3;
    check("istream >> string", w1 == "kiln" && w2 == "boots" && w3 == "now",
          "[" + w1 + "][" + w2 + "][" + w3 + "]");
    check("regex character classes",
          std::regex_match("abc123", std::regex("[[:alpha:]]+[[:digit:]]+")) &&
              std::regex_search("x = 0xBEEF;", std::regex("0x[[:xdigit:]]+\\b")) &&
              !std::regex_match("abc", std::regex("\\d+")) &&
              std::regex_match("Word_1", std::regex("\\w+")),
          "no match");

    std::locale c = std::locale::classic();
    std::locale named("C");
    check("std::locale(\"C\")", named == c && named.name() == "C", named.name());

    std::locale utf8("C.UTF-8");
    std::ostringstream in_utf8;
    in_utf8.imbue(utf8);
    in_utf8 << 1234567.5 << ' ' << std::boolalpha << true;
    check("imbue C.UTF-8", utf8.name() == "C.UTF-8" && in_utf8.str() == "1.23457e+06 true",
          utf8.name() + " '" + in_utf8.str() + "'");

    // ctype<char> of a named locale is ctype_byname, which goes through the C library with
    // the newlocale object (isxdigit_l and friends, compiled inline for glibc).
    const auto &ct = std::use_facet<std::ctype<char>>(utf8);
    check("ctype<char>::is", ct.is(std::ctype_base::xdigit, 'e') &&
                                 !ct.is(std::ctype_base::xdigit, 'g') &&
                                 ct.is(std::ctype_base::space, '\t') &&
                                 ct.is(std::ctype_base::upper, 'Q') &&
                                 !ct.is(std::ctype_base::alpha, '7'),
          "wrong class");
    check("ctype<char>::toupper/tolower", ct.toupper('k') == 'K' && ct.tolower('K') == 'k' &&
                                              ct.toupper('1') == '1',
          "wrong case mapping");
    check("std::isxdigit(c, locale)", std::isxdigit('A', utf8) && !std::isxdigit('Z', utf8) &&
                                          std::isxdigit('7', c),
          "wrong class");

    const auto &wct = std::use_facet<std::ctype<wchar_t>>(utf8);
    check("ctype<wchar_t>", wct.is(std::ctype_base::alpha, L'\u00e9') &&
                                wct.toupper(L'\u00e9') == L'\u00c9' && wct.narrow(L'x', '?') == 'x',
          "wrong wide class");

    const auto &np = std::use_facet<std::numpunct<char>>(utf8);
    check("numpunct", np.decimal_point() == '.' && np.truename() == "true", "wrong punctuation");

    std::wostringstream wide;
    wide << 2.75 << L" \u00e9";
    check("wostream << double", wide.str() == L"2.75 \u00e9", "wrong wide text");

    // std::locale::global sets the C library's locale too.
    std::locale::global(utf8);
    const char *now = std::setlocale(LC_ALL, nullptr);
    // musl names a mixed locale "CTYPE;NUMERIC;...": only LC_CTYPE differs between C and C.UTF-8.
    check("locale::global", now && std::string(now).rfind("C.UTF-8", 0) == 0, now ? now : "(null)");
    std::locale::global(c);

    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", 2.0 / 3.0);
    check("printf after the round trip", std::string(buf) == "0.667", buf);

    std::cout << (failures ? "status: FAIL (" + std::to_string(failures) + " checks)" : "status: ok")
              << std::endl;
    return failures ? 1 : 0;
}
