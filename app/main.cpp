// Composition root (being filled in): CLI parsing, GUI or headless.
#include <cstdio>
int main() { std::puts("archivist: under construction"); return 1; }
