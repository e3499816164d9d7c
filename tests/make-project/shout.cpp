#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>

int main() {
    std::string s = "c++ through kiln-c++";
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    std::cout << s << std::endl;
    return 0;
}
